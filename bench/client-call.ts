// npm run bench:client: what a call made with the client library (/client.js) takes in Chromium
// on this machine (#22), printed as numbers, not judged by tests:
//   1. accept to first decoded remote frame: from the owner's accept of a join request to the
//      first video frame decoded on each side, two peers, a fresh room per run;
//   2. ICE failure to frames decoded again: both peers relay-only through a coturn on loopback,
//      coturn killed (its allocations die) and started again after a pause; from ICE reporting
//      the failure (disconnected or failed) to frames decoded again, restarted by the library.
// Options: --runs N (setup runs, default 7), --ice-runs N (default 3), --down MS (coturn's pause, default 3000).
import { parseArgs } from "node:util";
import type { Browser, Page } from "playwright-core";
import type * as Library from "../src/client";
import { fetchAppToken } from "../test/support/app-token";
import { launchChromium } from "../test/support/chromium";
import { startCoturn } from "../test/support/coturn";
import { startDevServer } from "../test/support/wrangler-dev";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "7" },
    "ice-runs": { type: "string", default: "3" },
    down: { type: "string", default: "3000" },
  },
});
const RUNS = Number(values.runs);
const ICE_RUNS = Number(values["ice-runs"]);
const DOWN_MS = Number(values.down);
const TURN_SECRET = "bench-turn-secret";
const APP = "bench-client";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What the bench page records, with `Date.now()` times (one clock: both pages run on this machine). */
interface Monitor {
  lib: typeof Library;
  client: Library.Client;
  room: Library.Room | null;
  media: MediaStream;
  acceptAt: number | null;
  firstFrameAt: number | null;
  iceFailedAt: number | null;
  /** First time frames grew after `waitFrom`. */
  resumedAt: number | null;
  waitFrom: number | null;
  frames: number;
}
declare global {
  interface Window {
    bench: Monitor;
  }
}

/** A page with the library, connected, its camera on, sampling decoded frames every 10 ms. */
async function openPage(browser: Browser, url: string, token: string, name: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${url}/`);
  await page.addScriptTag({
    type: "module",
    content: 'import * as lib from "/client.js"; window.edgeSignaling = lib;',
  });
  await page.waitForFunction(() => "edgeSignaling" in window);
  await page.evaluate(
    async ({ token, name }) => {
      const lib = (window as unknown as { edgeSignaling: typeof Library }).edgeSignaling;
      const client = await lib.connect(location.origin, { token, peerinfo: { name } });
      const media = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240, frameRate: 30 } });
      const m: Monitor = {
        lib,
        client,
        room: null,
        media,
        acceptAt: null,
        firstFrameAt: null,
        iceFailedAt: null,
        resumedAt: null,
        waitFrom: null,
        frames: 0,
      };
      window.bench = m;
      setInterval(async () => {
        const peer = m.room ? [...m.room.peers.values()][0] : undefined;
        if (!peer?.pc) return;
        let frames = 0;
        (await peer.pc.getStats()).forEach((r: { type: string; kind?: string; framesDecoded?: number }) => {
          if (r.type === "inbound-rtp" && r.kind === "video") frames += r.framesDecoded ?? 0;
        });
        const now = Date.now();
        if (frames > 0 && m.firstFrameAt === null) m.firstFrameAt = now;
        if (frames > m.frames && m.waitFrom !== null && now > m.waitFrom && m.resumedAt === null) m.resumedAt = now;
        m.frames = frames;
      }, 10);
    },
    { token, name },
  );
  return page;
}

/** Resets the monitors and sets up a call in a new room; resolves when both decode video. */
async function call(owner: Page, guest: Page, room: string, configuration: RTCConfiguration): Promise<void> {
  await owner.evaluate(
    async ({ room, configuration }) => {
      const m = window.bench;
      Object.assign(m, {
        acceptAt: null,
        firstFrameAt: null,
        iceFailedAt: null,
        resumedAt: null,
        waitFrom: null,
        frames: 0,
      });
      m.room = await m.client.createRoom(room, { media: m.media.clone(), configuration });
      m.room.on("join-request", (request) => {
        m.acceptAt = Date.now();
        void request.accept();
      });
      m.room.on("peer", (peer) => {
        void peer.ready.then(() => {
          const pc = peer.pc as RTCPeerConnection;
          pc.addEventListener("iceconnectionstatechange", () => {
            if (["disconnected", "failed"].includes(pc.iceConnectionState) && m.iceFailedAt === null)
              m.iceFailedAt = Date.now();
          });
        });
      });
    },
    { room, configuration },
  );
  await guest.evaluate(
    async ({ room, configuration }) => {
      const m = window.bench;
      Object.assign(m, {
        acceptAt: null,
        firstFrameAt: null,
        iceFailedAt: null,
        resumedAt: null,
        waitFrom: null,
        frames: 0,
      });
      m.room = await m.client.joinRoom(room, { media: m.media.clone(), configuration });
    },
    { room, configuration },
  );
  await Promise.all(
    [owner, guest].map((page) =>
      page.waitForFunction(() => window.bench.firstFrameAt !== null, null, { timeout: 30_000 }),
    ),
  );
}

const leave = (page: Page) => page.evaluate(() => window.bench.room?.leave());
const read = (page: Page) =>
  page.evaluate(() => ({ ...window.bench, lib: undefined, client: undefined, room: undefined, media: undefined }));

function summary(label: string, samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
  return `${label.padEnd(58)} median ${String(median).padStart(6)} ms   min ${String(sorted[0]).padStart(6)}   max ${String(sorted.at(-1)).padStart(6)}   (n=${samples.length}: ${samples.join(", ")})`;
}

const turn = await startCoturn(TURN_SECRET);
const server = await startDevServer({ vars: { TURN_URLS: turn.url, TURN_SECRET, UPGRADE_LIMIT: "off" } });
const browser = await launchChromium();
try {
  const token = await fetchAppToken(server.url, APP);
  const ann = await openPage(browser, server.url, token, "Ann");
  const bob = await openPage(browser, server.url, token, "Bob");
  const stamp = Date.now();

  // 1. accept to first decoded remote frame (host candidates on loopback, as two tabs of one machine).
  const atGuest: number[] = [];
  const atOwner: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    await call(ann, bob, `setup-${stamp}-${run}`, {});
    const [owner, guest] = [await read(ann), await read(bob)];
    atGuest.push((guest.firstFrameAt ?? 0) - (owner.acceptAt ?? 0));
    atOwner.push((owner.firstFrameAt ?? 0) - (owner.acceptAt ?? 0));
    await Promise.all([leave(ann), leave(bob)]);
    await sleep(300);
  }

  // 2. ICE failure to frames decoded again (relay only, through coturn).
  const failToFrames: number[] = [];
  const backToFrames: number[] = [];
  const detection: number[] = [];
  for (let run = 0; run < ICE_RUNS; run++) {
    await call(ann, bob, `ice-${stamp}-${run}`, { iceTransportPolicy: "relay" });
    await sleep(2_000);
    const killedAt = Date.now();
    await ann.evaluate((at) => {
      window.bench.waitFrom = at;
    }, killedAt);
    await turn.stop();
    await ann.waitForFunction(() => window.bench.iceFailedAt !== null, null, { timeout: 60_000 });
    await sleep(DOWN_MS);
    await turn.start();
    const backAt = Date.now();
    await ann.evaluate((at) => {
      window.bench.waitFrom = at;
      window.bench.resumedAt = null;
    }, backAt);
    await ann.waitForFunction(() => window.bench.resumedAt !== null, null, { timeout: 90_000, polling: 20 });
    const owner = await read(ann);
    detection.push((owner.iceFailedAt ?? 0) - killedAt);
    failToFrames.push((owner.resumedAt ?? 0) - (owner.iceFailedAt ?? 0));
    backToFrames.push((owner.resumedAt ?? 0) - backAt);
    await Promise.all([leave(ann), leave(bob)]);
    await sleep(500);
  }

  console.log(`Client library calls in Chromium (${new Date().toISOString()}), two peers on one machine`);
  console.log(summary("accept -> first decoded remote frame, at the guest", atGuest));
  console.log(summary("accept -> first decoded remote frame, at the owner", atOwner));
  console.log(`ICE failure: coturn killed, started again ${DOWN_MS} ms after ICE reported it; relay-only peers`);
  console.log(summary("TURN killed -> ICE reports disconnected/failed", detection));
  console.log(summary("ICE failure -> frames decoded again (target < 10 s)", failToFrames));
  console.log(summary("TURN back -> frames decoded again", backToFrames));
} finally {
  await browser.close();
  await server.stop();
  await turn.close();
}
