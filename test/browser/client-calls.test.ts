import type { Browser } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { fetchAppToken } from "../support/app-token";
import { launchChromium } from "../support/chromium";
import { TEST_APP } from "../support/dev-server-suite";
import { type DevServer, startDevServer } from "../support/wrangler-dev";
import { type LibraryPage, openLibraryPage } from "./library-page";

/** Calls between Chromium pages that use only the client library (`/client.js`). */
describe("calls made with the client library, in Chromium", () => {
  let server: DevServer;
  let browser: Browser;
  let token: string;
  const pages: LibraryPage[] = [];

  beforeAll(async () => {
    [server, browser] = await Promise.all([startDevServer(), launchChromium()]);
    token = await fetchAppToken(server.url, TEST_APP);
  });
  afterEach(async () => {
    for (const page of pages.splice(0)) await page.close();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  const open = async (name: string, options: { media?: boolean } = {}) => {
    const page = await openLibraryPage(browser, server.url, name, { token, ...options });
    pages.push(page);
    return page;
  };

  it("calls two ways with video, carries data channel messages both ways, settles glare, renegotiates removed and replaced tracks, and leaves nothing live", {
    timeout: 120_000,
  }, async () => {
    const room = `two-${Date.now()}`;
    const ann = await open("Ann");
    const bob = await open("Bob");
    await ann.create(room);
    await bob.join(room);
    const [annId, bobId] = [await ann.id(), await bob.id()];
    expect(await ann.peers()).toEqual([bobId]);
    expect(await bob.peers()).toEqual([annId]);
    await Promise.all([ann.expectVideoFrom(bobId), bob.expectVideoFrom(annId)]);

    // Data: Ann opens a channel; Bob gets it; messages go both ways.
    await ann.run(async (t, id) => {
      const channel = t.room?.peers.get(id)?.createDataChannel("chat");
      if (!channel) throw new Error("no peer");
      t.channels[`chat@${id}`] = channel;
      channel.onmessage = ({ data }) => t.received.push(`chat:${data}`);
      await new Promise((resolve) => channel.addEventListener("open", resolve, { once: true }));
      channel.send("hello from Ann");
    }, bobId);
    await expect.poll(() => bob.run((t) => t.received, null)).toEqual(["chat:hello from Ann"]);
    await bob.run((t, id) => t.channels[`chat@${id}`]?.send("hello from Bob"), annId);
    await expect.poll(() => ann.run((t) => t.received, null)).toEqual(["chat:hello from Bob"]);

    // Glare: both add a second video track (a screen share, say) at the same moment (one clock:
    // both pages run on this machine), so that each offers before the other's offer arrives.
    const addShareAt = (t: Window["t"], { at, peerId }: { at: number; peerId: string }) => {
      const pc = t.room?.peers.get(peerId)?.pc;
      // The state each remote offer finds our connection in: have-local-offer is a collision.
      t.client.signaling.socket.on("session-description", ({ session_description }) => {
        if ((session_description as { type?: string }).type === "offer")
          t.received.push(`offer in ${pc?.signalingState}`);
      });
      const canvas = document.createElement("canvas");
      canvas.width = 64;
      canvas.height = 48;
      const context = canvas.getContext("2d");
      let n = 0;
      setInterval(() => {
        n += 1;
        context?.fillRect(n % 64, 0, 4, 48);
      }, 50);
      const share = canvas.captureStream(15).getVideoTracks()[0] as MediaStreamTrack;
      t.tracks.push(share);
      setTimeout(() => t.room?.addTrack(share, new MediaStream([share])), at - Date.now());
    };
    const at = Date.now() + 500;
    await Promise.all([ann.run(addShareAt, { at, peerId: bobId }), bob.run(addShareAt, { at, peerId: annId })]);
    const remoteVideo = (page: LibraryPage, id: string) =>
      page.run((t, peerId) => {
        const pc = t.room?.peers.get(peerId)?.pc;
        return (pc?.getTransceivers() ?? []).filter(
          (tr) =>
            tr.receiver.track.kind === "video" &&
            (tr.currentDirection === "sendrecv" || tr.currentDirection === "recvonly"),
        ).length;
      }, id);
    await expect.poll(() => remoteVideo(ann, bobId), { timeout: 20_000 }).toBe(2);
    await expect.poll(() => remoteVideo(bob, annId), { timeout: 20_000 }).toBe(2);
    const signalingStates = async () => [
      await ann.run((t, id) => t.room?.peers.get(id)?.pc?.signalingState, bobId),
      await bob.run((t, id) => t.room?.peers.get(id)?.pc?.signalingState, annId),
    ];
    await expect.poll(signalingStates).toEqual(["stable", "stable"]);
    // It was glare: at least one side got the other's offer while its own was out.
    const offersSeen = [...(await ann.run((t) => t.received, null)), ...(await bob.run((t) => t.received, null))];
    expect(offersSeen).toContain("offer in have-local-offer");
    // Both of Bob's video tracks are decoded at Ann's.
    const decodingTracks = (page: LibraryPage, id: string) =>
      page.run(async (t, peerId) => {
        const stats = await t.room?.peers.get(peerId)?.pc?.getStats();
        let decoding = 0;
        stats?.forEach((r: { type: string; kind?: string; framesDecoded?: number }) => {
          if (r.type === "inbound-rtp" && r.kind === "video" && (r.framesDecoded ?? 0) > 0) decoding += 1;
        });
        return decoding;
      }, id);
    await expect.poll(() => decodingTracks(ann, bobId), { timeout: 20_000 }).toBe(2);
    await expect.poll(() => decodingTracks(bob, annId), { timeout: 20_000 }).toBe(2);

    // Bob stops sharing: Ann's side hears the track go (renegotiated away).
    await ann.run((t, id) => {
      const peer = t.room?.peers.get(id);
      peer?.on("track-removed", (track) => t.received.push(`removed:${track.kind}`));
    }, bobId);
    await bob.run((t) => {
      const share = t.tracks[t.tracks.length - 1] as MediaStreamTrack;
      t.room?.removeTrack(share);
    }, null);
    await expect.poll(() => remoteVideo(ann, bobId), { timeout: 20_000 }).toBe(1);
    await expect.poll(() => ann.run((t) => t.received.includes("removed:video"), null), { timeout: 10_000 }).toBe(true);

    // Ann switches camera (replaceTrack): Bob keeps decoding her video.
    await ann.run(async (t) => {
      const camera = await navigator.mediaDevices.getUserMedia({ video: { width: 160, height: 120 } });
      const next = camera.getVideoTracks()[0] as MediaStreamTrack;
      const previous = t.media?.getVideoTracks()[0] as MediaStreamTrack;
      t.tracks.push(next);
      await t.room?.replaceTrack(previous, next);
    }, null);
    await bob.expectVideoFrom(annId);

    // Mute and "no device" differ: Ann mutes her microphone; Bob is told "muted", not "none".
    await ann.run((t) => t.room?.setEnabled("audio", false), null);
    await expect
      .poll(() => bob.run((t, id) => t.room?.peers.get(id)?.media, annId))
      .toEqual({ audio: "muted", video: "live" });

    // Bob leaves: every track he made has ended, his connections are closed; Ann sees him go.
    await bob.run((t) => t.room?.leave(), null);
    expect(
      await bob.run(
        (t) => ({
          live: t.tracks.filter((track) => track.readyState === "live").length,
          rooms: t.client.rooms.size,
          role: t.room?.role,
        }),
        null,
      ),
    ).toEqual({ live: 0, rooms: 0, role: "left" });
    await expect.poll(() => ann.run((t) => t.left, null), { timeout: 10_000 }).toEqual([bobId]);
    expect(await ann.peers()).toEqual([]);
    for (const page of [ann, bob]) {
      expect(page.problems).toEqual([]);
      expect(await page.run((t) => t.errors, null)).toEqual([]);
    }
  });

  it("calls four ways: every page decodes the three others; a peer without devices reads as 'none', not muted; one leaves", {
    timeout: 150_000,
  }, async () => {
    const room = `four-${Date.now()}`;
    const ann = await open("Ann");
    await ann.create(room);
    const others = [await open("Bob"), await open("Cid"), await open("Dee", { media: false })];
    for (const page of others) await page.join(room);
    const everyone = [ann, ...others];
    const ids = await Promise.all(everyone.map((page) => page.id()));
    for (const [i, page] of everyone.entries()) {
      expect((await page.peers()).sort()).toEqual(ids.filter((_, j) => j !== i).sort());
    }
    // Dee sends nothing: the three with cameras are decoded by every other page.
    const senders = [0, 1, 2];
    await Promise.all(
      everyone.flatMap((page, i) =>
        senders.filter((s) => s !== i).map((s) => page.expectVideoFrom(ids[s] as string, 60_000)),
      ),
    );
    await expect
      .poll(() => ann.run((t, id) => t.room?.peers.get(id)?.media, ids[3] as string))
      .toEqual({ audio: "none", video: "none" });

    const dee = others[2] as LibraryPage;
    await dee.run((t) => t.room?.leave(), null);
    for (const page of everyone.slice(0, 3)) {
      await expect.poll(() => page.run((t) => t.left, null), { timeout: 10_000 }).toEqual([ids[3]]);
    }
    for (const page of everyone) expect(page.problems).toEqual([]);
  });
});
