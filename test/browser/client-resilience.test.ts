import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { fetchAppToken } from "../support/app-token";
import { launchChromium, type NetworkSwitch, networkSwitch } from "../support/chromium";
import { type Coturn, startCoturn } from "../support/coturn";
import { TEST_APP } from "../support/dev-server-suite";
import { type DevServer, freePort, startDevServer } from "../support/wrangler-dev";
import { type LibraryPage, openLibraryPage } from "./library-page";

/** The server's TURN_SECRET in these tests, and coturn's static-auth-secret. */
const TURN_SECRET = "loopback-turn-secret-for-tests";
/**
 * Short-lived TURN credentials: a call set up after this many seconds needs new ones. Not much
 * shorter: fresh credentials are used until half their life is gone, and a relay's permissions
 * must be created with credentials that are still valid, which takes longer on a loaded machine.
 */
const TURN_TTL_S = 10;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Samples the frames each page decodes from the other every `everyMs` while `during` runs, and
 * returns the samples: video that never stops is a count that grows between every two samples.
 */
async function framesWhile(pairs: Array<[LibraryPage, string]>, everyMs: number, during: () => Promise<void>) {
  const samples: number[][] = pairs.map(() => []);
  let running = true;
  const sampler = (async () => {
    while (running) {
      const counts = await Promise.all(pairs.map(([page, id]) => page.framesFrom(id)));
      for (const [i, count] of counts.entries()) samples[i]?.push(count);
      await sleep(everyMs);
    }
  })();
  try {
    await during();
  } finally {
    running = false;
    await sampler;
  }
  return samples;
}

/** Whether a series of frame counts grew between every two samples (no stall of a sample's length). */
const neverStalls = (series: number[]) => series.every((count, i) => i === 0 || count > (series[i - 1] ?? 0));

/** Video transceivers of `page`'s connection to `id` that receive. */
const receivingVideo = (page: LibraryPage, id: string) =>
  page.run((t, peerId) => {
    const pc = t.room?.peers.get(peerId)?.pc;
    return (pc?.getTransceivers() ?? []).filter(
      (tr) =>
        tr.receiver.track.kind === "video" &&
        (tr.currentDirection === "sendrecv" || tr.currentDirection === "recvonly"),
    ).length;
  }, id);

/** Adds a canvas track (a screen share, say) to the page's room: a renegotiation. */
const share = (page: LibraryPage) =>
  page.run((t) => {
    const canvas = document.createElement("canvas");
    canvas.width = 64;
    canvas.height = 48;
    const context = canvas.getContext("2d");
    setInterval(() => context?.fillRect(Math.random() * 64, 0, 2, 48), 50);
    const track = canvas.captureStream(15).getVideoTracks()[0] as MediaStreamTrack;
    t.tracks.push(track);
    t.room?.addTrack(track, new MediaStream([track]));
  }, null);

describe("calls made with the client library survive signaling cuts, server restarts and ICE failures", () => {
  let browser: Browser;
  const pages: LibraryPage[] = [];
  const cleanups: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterEach(async () => {
    for (const page of pages.splice(0)) await page.close();
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it("keeps video flowing through a 5 s signaling cut and a server restart on the same state: same ids, recovered, and renegotiation works after each", {
    timeout: 150_000,
  }, async () => {
    const state = await mkdtemp(join(tmpdir(), "edge-signaling-restart-"));
    const port = await freePort();
    let server: DevServer = await startDevServer({ port, persistTo: state });
    cleanups.push(async () => {
      await server.stop();
      await rm(state, { recursive: true, force: true });
    });
    const token = await fetchAppToken(server.url, TEST_APP);
    const net: NetworkSwitch = await networkSwitch(server.url);
    cleanups.push(() => net.close());

    const room = `cut-${Date.now()}`;
    const ann = await openLibraryPage(browser, server.url, "Ann", { token });
    const bob = await openLibraryPage(browser, net.url, "Bob", { token });
    pages.push(ann, bob);
    await ann.create(room);
    await bob.join(room);
    const [annId, bobId] = [await ann.id(), await bob.id()];
    await Promise.all([ann.expectVideoFrom(bobId), bob.expectVideoFrom(annId)]);

    // Bob's signaling is cut for 5 s (TCP dropped, no goodbye): media does not go through the server.
    const duringCut = await framesWhile(
      [
        [ann, bobId],
        [bob, annId],
      ],
      1_000,
      async () => {
        net.cut();
        await expect.poll(() => bob.run((t) => t.connection, null)).toEqual(["lost"]);
        await sleep(5_000);
        net.restore();
        await expect
          .poll(() => bob.run((t) => t.connection, null), { timeout: 15_000 })
          .toEqual(["lost", "connected (recovered)"]);
      },
    );
    expect(duringCut.map(neverStalls)).toEqual([true, true]);
    expect(duringCut[0]?.length).toBeGreaterThanOrEqual(5);
    expect(await bob.id()).toBe(bobId);
    expect(await ann.peers()).toEqual([bobId]);
    // A renegotiation after the cut: Ann shares a second video, Bob receives it.
    await share(ann);
    await expect.poll(() => receivingVideo(bob, annId), { timeout: 20_000 }).toBe(2);

    // The server restarts on the same state (every socket cut without a close): both sessions come back.
    const duringRestart = await framesWhile(
      [
        [ann, bobId],
        [bob, annId],
      ],
      1_000,
      async () => {
        await server.stop();
        server = await startDevServer({ port, persistTo: state });
        for (const page of [ann, bob]) {
          await expect
            .poll(async () => (await page.run((t) => t.connection, null)).at(-1), { timeout: 30_000 })
            .toBe("connected (recovered)");
        }
      },
    );
    expect(duringRestart.map(neverStalls)).toEqual([true, true]);
    expect([await ann.id(), await bob.id()]).toEqual([annId, bobId]);
    expect(await ann.peers()).toEqual([bobId]);
    expect(await bob.peers()).toEqual([annId]);
    // A renegotiation after the restart: Bob shares a second video, Ann receives it.
    await share(bob);
    await expect.poll(() => receivingVideo(ann, bobId), { timeout: 20_000 }).toBe(2);
    for (const page of [ann, bob]) expect(await page.run((t) => t.errors, null)).toEqual([]);
  });

  it("gets TURN for a call set up after the credentials' TTL, and restarts ICE by itself when the TURN server dies and comes back", {
    timeout: 150_000,
  }, async ({ onTestFailed }) => {
    const turn: Coturn & { close(): Promise<void> } = await startCoturn(TURN_SECRET);
    onTestFailed(async () => {
      for (const page of pages) {
        const seen = await page
          .run(async (t) => {
            const lines: string[] = [...t.connection, ...t.errors];
            for (const peer of t.room?.peers.values() ?? []) {
              const pc = peer.pc;
              lines.push(
                `peer ${peer.id}: ${pc?.connectionState} ice ${pc?.iceConnectionState} gathering ${pc?.iceGatheringState}`,
              );
              (await pc?.getStats())?.forEach(
                (r: { type: string; candidateType?: string; address?: string; state?: string }) => {
                  if (r.type === "local-candidate" || r.type === "remote-candidate")
                    lines.push(`${r.type} ${r.candidateType} ${r.address}`);
                  if (r.type === "candidate-pair") lines.push(`pair ${r.state}`);
                },
              );
            }
            return lines;
          }, null)
          .catch((error: Error) => [`(page: ${error.message})`]);
        console.error(`${page.name}:\n  ${seen.join("\n  ")}`);
      }
      console.error(`coturn:\n${turn.output().split("\n").slice(-40).join("\n")}`);
    });
    cleanups.push(() => turn.close());
    const server = await startDevServer({
      vars: { TURN_URLS: turn.url, TURN_SECRET, TURN_TTL: String(TURN_TTL_S) },
    });
    cleanups.push(() => server.stop());
    const token = await fetchAppToken(server.url, TEST_APP);

    // Both pages fetch ICE servers as soon as they connect, then wait past the credentials' TTL.
    const room = `turn-${Date.now()}`;
    const ann = await openLibraryPage(browser, server.url, "Ann", { token, prefetchIce: true });
    const bob = await openLibraryPage(browser, server.url, "Bob", { token, prefetchIce: true });
    pages.push(ann, bob);
    await sleep((TURN_TTL_S + 1) * 1000);
    // Relay only: without valid TURN credentials (coturn answers 401 to stale ones) there is no path at all.
    const relayOnly: RTCConfiguration = { iceTransportPolicy: "relay" };
    await ann.create(room, relayOnly);
    await bob.join(room, relayOnly);
    const [annId, bobId] = [await ann.id(), await bob.id()];
    await Promise.all([ann.expectVideoFrom(bobId), bob.expectVideoFrom(annId)]);
    const selectedPair = (page: LibraryPage, id: string) =>
      page.run(async (t, peerId) => {
        const stats = await t.room?.peers.get(peerId)?.pc?.getStats();
        const types: string[] = [];
        stats?.forEach((report: { type: string; nominated?: boolean; state?: string; localCandidateId?: string }) => {
          if (report.type === "candidate-pair" && report.nominated && report.state === "succeeded") {
            const byId = stats as unknown as Map<string, { candidateType?: string }>;
            const local = byId.get(report.localCandidateId ?? "");
            types.push(local?.candidateType ?? "?");
          }
        });
        return types;
      }, id);
    expect(await selectedPair(ann, bobId)).toContain("relay");
    const remoteUfrag = (page: LibraryPage, id: string) =>
      page.run(
        (t, peerId) => /a=ice-ufrag:(\S+)/.exec(t.room?.peers.get(peerId)?.pc?.remoteDescription?.sdp ?? "")?.[1],
        id,
      );
    const ufragBefore = await remoteUfrag(ann, bobId);
    await ann.run((t, id) => {
      const pc = t.room?.peers.get(id)?.pc;
      pc?.addEventListener("iceconnectionstatechange", () => t.connection.push(`ice:${pc.iceConnectionState}`));
    }, bobId);

    // coturn dies with every allocation; it is back 4 s later. Nobody touches the pages.
    await turn.stop();
    await expect
      .poll(() => ann.run((t) => t.connection.filter((s) => s.startsWith("ice:")), null), { timeout: 30_000 })
      .toContainEqual(expect.stringMatching(/ice:(disconnected|failed)/));
    await sleep(4_000);
    await turn.start();
    const frozen = await ann.framesFrom(bobId);
    await expect.poll(() => ann.framesFrom(bobId), { timeout: 60_000, interval: 500 }).toBeGreaterThan(frozen + 10);
    await expect.poll(() => bob.framesFrom(annId), { timeout: 30_000, interval: 500 }).toBeGreaterThan(10);
    // ICE was restarted (new credentials on both ends: a new remote ufrag), over TURN again.
    expect(await remoteUfrag(ann, bobId)).not.toBe(ufragBefore);
    expect(await selectedPair(ann, bobId)).toContain("relay");
    expect(await ann.run((t) => t.connection.at(-1), null)).toMatch(/ice:(connected|completed)/);
  });
});
