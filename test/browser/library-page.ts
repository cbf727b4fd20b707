import type { Browser, Page } from "playwright-core";
import { expect } from "vitest";
import type * as Library from "../../src/client";
import { collectProblems } from "../support/chromium";

/**
 * A Chromium page that uses only the client library, as an application page would: it imports
 * `/client.js` from the server (the bundle with socket.io-client in it) and drives it through
 * `page.evaluate`. What the page holds lives in `window.t` (see {@link PageState}).
 */

/** What a test page keeps in `window.t`. */
interface PageState {
  lib: typeof Library;
  client: Library.Client;
  room: Library.Room | null;
  media: MediaStream | null;
  /** Tracks this page made and handed to the room (all must end after leave). */
  tracks: MediaStreamTrack[];
  /** Join requests seen, and whether they were accepted by the auto-accept. */
  requests: Array<{ peerId: string; returning: boolean }>;
  /** Data channel messages received, as "label:text". */
  received: string[];
  channels: Record<string, RTCDataChannel>;
  /** Peers that left, by id. */
  left: string[];
  errors: string[];
  connection: string[];
  iceWatched: number;
}

declare global {
  interface Window {
    t: PageState;
  }
}

export interface OpenOptions {
  /** The app token the page connects with. */
  token: string;
  /** Camera and microphone (fake devices), at a low resolution to spare the CPU. Default true. */
  media?: boolean;
  /** Fetch ICE servers right at connect, as a page that prepares early would. */
  prefetchIce?: boolean;
}

export interface LibraryPage {
  page: Page;
  name: string;
  problems: string[];
  /** The page's own peer id. */
  id(): Promise<string>;
  create(room: string, configuration?: RTCConfiguration): Promise<void>;
  join(room: string, configuration?: RTCConfiguration): Promise<void>;
  /** Peer ids in the room, as this page sees them. */
  peers(): Promise<string[]>;
  /** Video frames decoded from that peer, over all its video tracks. */
  framesFrom(peerId: string): Promise<number>;
  /** Waits until video from `peerId` is decoded and keeps being decoded. */
  expectVideoFrom(peerId: string, timeoutMs?: number): Promise<void>;
  /** Evaluates in the page with its state. */
  run<R, A>(fn: (t: PageState, arg: A) => R | Promise<R>, arg: A): Promise<R>;
  close(): Promise<void>;
}

/** Low resolution and frame rate: four pages decoding three streams each on two cores. */
const CAMERA = { width: 160, height: 120, frameRate: 15 };

export async function openLibraryPage(
  browser: Browser,
  origin: string,
  name: string,
  options: OpenOptions,
): Promise<LibraryPage> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = collectProblems(page);
  await page.goto(`${origin}/`);
  // The page imports the served bundle itself, as an application page would (a module script:
  // vitest would rewrite an import() inside page.evaluate).
  await page.addScriptTag({
    type: "module",
    content: 'import * as lib from "/client.js"; window.edgeSignaling = lib;',
  });
  await page.waitForFunction(() => "edgeSignaling" in window);
  await page.evaluate(
    async ({ name, token, media, prefetchIce, camera }) => {
      const lib = (window as unknown as { edgeSignaling: typeof Library }).edgeSignaling;
      const client = await lib.connect(location.origin, {
        token,
        peerinfo: { name },
        socket: { reconnectionDelay: 300, reconnectionDelayMax: 1000 },
      });
      const stream = media ? await navigator.mediaDevices.getUserMedia({ audio: true, video: camera }) : null;
      const t: PageState = {
        lib,
        client,
        room: null,
        media: stream,
        tracks: stream ? stream.getTracks() : [],
        requests: [],
        received: [],
        channels: {},
        left: [],
        errors: [],
        connection: [],
        iceWatched: 0,
      };
      client.on("error", (error) => t.errors.push(`${error.code}: ${error.message}`));
      client.on("connection", (state, recovered) => t.connection.push(recovered ? `${state} (recovered)` : state));
      if (prefetchIce) await client.ice.current();
      window.t = t;
    },
    {
      name,
      token: options.token,
      media: options.media ?? true,
      prefetchIce: options.prefetchIce ?? false,
      camera: CAMERA,
    },
  );

  const run = <R, A>(fn: (t: PageState, arg: A) => R | Promise<R>, arg: A): Promise<R> =>
    page.evaluate(
      async ({ source, arg }) => {
        // The test's own function, shipped into its page as source (an indirect eval: global scope).
        // biome-ignore lint/security/noGlobalEval: only test code runs here, in a test browser
        const evaluate = globalThis.eval;
        const fn = evaluate(`(${source})`) as (t: PageState, arg: unknown) => unknown;
        return fn(window.t, arg);
      },
      { source: fn.toString(), arg },
    ) as Promise<R>;

  /** Wires a room's events into the page state: auto-accept, data channels, leaves, errors. */
  const enter = (how: "create" | "join") => async (room: string, configuration?: RTCConfiguration) => {
    await run(
      async (t, { how, room, configuration }) => {
        const options = { media: t.media, ...(configuration ? { configuration } : {}) };
        const entered =
          how === "create" ? await t.client.createRoom(room, options) : await t.client.joinRoom(room, options);
        t.room = entered;
        entered.on("join-request", (request) => {
          t.requests.push({ peerId: request.peerId, returning: request.returning });
          void request.accept();
        });
        const watch = (peer: Library.Peer) => {
          peer.on("datachannel", (channel) => {
            t.channels[`${channel.label}@${peer.id}`] = channel;
            channel.onmessage = ({ data }) => t.received.push(`${channel.label}:${data}`);
          });
        };
        for (const peer of entered.peers.values()) watch(peer);
        entered.on("peer", watch);
        entered.on("peer-left", (peer) => t.left.push(peer.id));
        entered.on("error", (error) => t.errors.push(error.message));
      },
      { how, room, configuration },
    );
  };

  const framesFrom = (peerId: string) =>
    run(async (t, id) => {
      const pc = t.room?.peers.get(id)?.pc;
      if (!pc) return 0;
      let frames = 0;
      (await pc.getStats()).forEach((report: { type: string; kind?: string; framesDecoded?: number }) => {
        if (report.type === "inbound-rtp" && report.kind === "video") frames += report.framesDecoded ?? 0;
      });
      return frames;
    }, peerId);

  return {
    page,
    name,
    problems,
    id: () => run((t) => t.client.id, null),
    create: enter("create"),
    join: enter("join"),
    peers: () => run((t) => [...(t.room?.peers.keys() ?? [])], null),
    framesFrom,
    async expectVideoFrom(peerId, timeoutMs = 30_000) {
      await expect.poll(() => framesFrom(peerId), { timeout: timeoutMs, interval: 250 }).toBeGreaterThan(3);
      const before = await framesFrom(peerId);
      await expect.poll(() => framesFrom(peerId), { timeout: 10_000, interval: 250 }).toBeGreaterThan(before + 3);
    },
    run,
    close: () => context.close(),
  };
}
