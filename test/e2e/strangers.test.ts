import { request } from "node:http";
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { setUpRoom } from "../support/call";
import { TEST_APP as APP, useDevServer } from "../support/dev-server-suite";
import type { FrameClient } from "../support/frame-client";

/** The room object's defences against sockets that do not behave: deadlines, floods, caps, and the logs they leave. */
describe("a room's object facing sockets that misbehave", () => {
  const suite = useDevServer({
    vars: {
      AUTH_TIMEOUT_MS: "1500",
      RATE_LIMIT_PER_SECOND: "20",
      RATE_LIMIT_BURST: "40",
      MAX_SOCKETS_PER_OBJECT: "4",
    },
  });

  /** A raw socket in `room`'s object that has sent CONNECT and nothing else. */
  const raw = (room: string) => suite.raw(room, { connect: true });

  const logLines = (what: string) =>
    suite.server
      .output()
      .split("\n")
      .filter((line) => line.includes(`"log":"${what}"`));

  it("closes a socket that has not passed auth-request within AUTH_TIMEOUT_MS, and keeps one that has", async () => {
    const room = "deadline";
    const idle = await raw(room);
    const peer = await suite.peer("peer", { room });
    const started = Date.now();
    expect(await idle.closed).toBe(1008);
    expect(Date.now() - started).toBeLessThan(10_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(peer.socket.connected).toBe(true);
    expect((await peer.socket.emitWithAck("room-create-request", { auth: peer.session, room })).ok).toBe(true);
  });

  it("closes a flood slower than the burst, answering and logging only its first refusals", async () => {
    const room = "slow-flood";
    const flooder = await raw(room);
    // Authenticated first, so the auth deadline (also 1008) cannot be what closes it.
    flooder.send(`421${JSON.stringify(["auth-request", suite.appToken])}`);
    expect(await flooder.ack(1)).toMatchObject({ ok: true });
    const closed = new Promise<[number, string]>((resolve) =>
      flooder.ws.once("close", (code, reason) => resolve([code, reason.toString()])),
    );
    const before = logLines("refusal").length;
    // 60 frames a second against 20/s: frames get through between refusals, so none come 40 in a row.
    const timer = setInterval(() => {
      if (flooder.ws.readyState === WebSocket.OPEN) flooder.ws.send('42["no-such-event",{}]');
    }, 1000 / 60);
    // 40 refusals at about 40 a second: closed in about a second; well past the auth deadline's 1.5 s too.
    const ended = await Promise.race([closed, new Promise<null>((resolve) => setTimeout(() => resolve(null), 10_000))]);
    clearInterval(timer);
    expect(ended).toEqual([1008, "rate limit exceeded"]);
    const rateLimited = flooder.unread().filter((frame) => frame.includes("ERR_RATE_LIMITED"));
    expect(rateLimited.length).toBeGreaterThan(0);
    expect(rateLimited.length).toBeLessThanOrEqual(3 * 2); // 3 per 10 s window; the flood is closed within two
    await new Promise((resolve) => setTimeout(resolve, 300));
    const logged = logLines("refusal").length - before;
    expect(logged).toBeLessThanOrEqual(5 * 2 + 1); // 5 per window, and the close
  });

  it("logs each close once, including closes the server makes", async () => {
    const room = "close-once";
    const socket = await raw(room);
    expect((await socket.next()).charAt(0)).toBe("0");
    const id = /^40\{"sid":"([^"]+)"/.exec(await socket.next())?.[1] as string;
    expect(id).toBeDefined();
    socket.ws.send("1"); // Engine.IO close: the server closes the socket
    await socket.closed;
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(logLines("socket-close").filter((line) => line.includes(id))).toHaveLength(1);
  });

  it("holds at most MAX_SOCKETS_PER_OBJECT sockets in one object: a stranger gives way, members and candidates do not", async () => {
    const room = "crowded";
    const strangers = [await raw(room), await raw(room), await raw(room), await raw(room)];
    // Full of sockets in no room: the newcomer takes the slot of the one here longest (closed 4001).
    const owner = await suite.peer("owner", { room });
    expect((strangers[0] as FrameClient).ws).toHaveProperty("_closeCode", 4001);
    const member = await suite.peer("member", { room });
    const other = await suite.peer("other", { room });
    await setUpRoom(room, owner, member, other);
    const candidate = await suite.peer("candidate", { room });
    candidate.socket.emit("room-join-request", { auth: candidate.session, room });
    await owner.next("room-join-request");
    // Every stranger gave way; every socket is a member or a candidate: the next is refused with 503.
    expect(strangers.map((stranger) => (stranger.ws as unknown as { _closeCode: number })._closeCode)).toEqual([
      4001, 4001, 4001, 4001,
    ]);
    await expect(suite.raw(room)).rejects.toThrow("HTTP 503");
    // Another room's object is not affected.
    await raw("elsewhere");
  });

  it("limits new sockets per client address before any object is reached", async () => {
    const upgrade = (address: string) =>
      new Promise<number>((resolve, reject) => {
        // No token: allowed upgrades get 401 from the worker, so no object wakes either way.
        const req = request(`${suite.server.url}/socket.io/?EIO=4&transport=websocket&app=${APP}&room=limited`, {
          headers: { Upgrade: "websocket", Connection: "Upgrade", "CF-Connecting-IP": address },
        });
        req.once("response", (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.once("error", reject);
        req.end();
      });
    // The binding counts in fixed windows of 10 s (locally aligned to the clock), so the first 429
    // comes after 100 upgrades, or after up to 200 when the run straddles two windows.
    const statuses: number[] = [];
    while (statuses.length < 250 && !statuses.includes(429)) statuses.push(await upgrade("2001:db8:1:2::1"));
    const passed = statuses.indexOf(429);
    expect(passed).toBeGreaterThanOrEqual(100);
    expect(passed).toBeLessThanOrEqual(200);
    expect(statuses.slice(0, passed).every((s) => s === 401)).toBe(true);
    // The same /64 shares the limit; another address does not.
    expect(await upgrade("2001:db8:1:2::ffff")).toBe(429);
    expect(await upgrade("198.51.100.9")).toBe(401);
  });
});
