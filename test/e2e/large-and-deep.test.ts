import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { expectRelay, setUpRoom } from "../support/call";
import { TEST_APP as APP, useDevServer } from "../support/dev-server-suite";
import { socketUrl } from "../support/frame-client";
import type { TestPeer } from "../support/peer";

/**
 * Issue #12 against `wrangler dev` with the default limits: frames up to
 * Socket.IO's 1 MB are read and answered, deep nesting is refused before it
 * is routed in both placements, room names are well-formed, and what a client
 * chooses reaches the logs capped and escaped.
 */

/** Socket.IO's default `maxHttpBufferSize`, and this server's default `MAX_FRAME_BYTES`. */
const ONE_MB = 1_000_000;
const nest = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;

describe("large and deep requests", () => {
  const suite = useDevServer();
  const peer = (name: string, room?: string, peerinfo: unknown = { name }) => suite.peer(name, { room, peerinfo });

  /**
   * Sends a Socket.IO packet (`2[...]`) as written, on the peer's own
   * connection: Engine.IO adds its `4`. socket.io-client's own encoder could
   * not: serializing 5,000 levels overflows Node's stack.
   */
  function sendRaw(from: TestPeer, packet: string): void {
    from.socket.io.engine.write(packet);
  }

  it("advertises Socket.IO's 1 MB as maxPayload, and still closes a bigger frame with 1009", async () => {
    const socket = await suite.raw();
    expect(JSON.parse((await socket.next()).slice(1))).toMatchObject({ maxPayload: ONE_MB });
    socket.ws.send("40");
    socket.ws.send(`42["x","${"a".repeat(ONE_MB)}"]`);
    expect(await socket.closed).toBe(1009);
  });

  describe.each([
    ["in the room's own object", true],
    ["in an object of its own", false],
  ])("a sender %s", (_label, inRoom) => {
    const room = `big-${inRoom ? "room" : "seed"}`;

    it.each([
      ["100 KB", 100_000],
      ["900 KB", 900_000],
    ])("gets ERR_PAYLOAD_TOO_LARGE for a %s payload, and stays connected", async (_size, bytes) => {
      const alice = await peer("alice", inRoom ? `${room}-${bytes}` : undefined);
      const refused = await alice.socket.emitWithAck("room-create-request", {
        auth: alice.session,
        room: `${room}-${bytes}`,
        payload: "p".repeat(bytes),
      });
      expect(refused).toMatchObject({ ok: false, error: { code: "ERR_PAYLOAD_TOO_LARGE" } });
      expect(await alice.next("room-create-reject")).toMatchObject({ code: "ERR_PAYLOAD_TOO_LARGE" });
      expect(alice.socket.connected).toBe(true);
      const created = await alice.socket.emitWithAck("room-create-request", {
        auth: alice.session,
        room: `${room}-${bytes}`,
      });
      expect(created).toEqual({ ok: true, data: { room: `${room}-${bytes}` } });
    });

    it("gets ERR_INVALID_REQUEST for a relay nested 5,000 deep, and nothing is delivered", async () => {
      const deepRoom = `${room}-deep`;
      const alice = await peer("alice", inRoom ? deepRoom : undefined);
      const bob = await peer("bob");
      await setUpRoom(deepRoom, alice, bob);
      const head = `"auth":"${alice.session}","room":"${deepRoom}","to":"${bob.id}"`;
      for (const deep of [`"ice_candidate":${nest(5_000)}`, `"ice_candidate":{},"payload":${nest(5_000)}`]) {
        sendRaw(alice, `2["relay-ice-candidate",{${head},${deep}}]`);
        expect(await alice.next("signaling-error")).toMatchObject({
          code: "ERR_INVALID_REQUEST",
          event: "relay-ice-candidate",
        });
      }
      // Relays of one sender arrive in order: a delivered deep one would be waiting before this one.
      await expectRelay(deepRoom, alice, bob);
      expect(bob.pending().filter(([event]) => event === "ice-candidate")).toEqual([]);
      expect(alice.socket.connected).toBe(true);
    });

    it("relays a 900 KB session description whole, and the candidate sent after it arrives after it", async () => {
      const bigRoom = `${room}-sdp`;
      const alice = await peer("alice", inRoom ? bigRoom : undefined);
      const bob = await peer("bob");
      await setUpRoom(bigRoom, alice, bob);
      // 900,000 bytes of UTF-8, with emoji (two UTF-16 units each) wherever a message between objects might be cut.
      const sdp = "v=0 😀 ".repeat(100_000);
      const order: string[] = [];
      bob.socket.onAny((event: string) => order.push(event));
      alice.socket.emit("relay-session-description", {
        auth: alice.session,
        room: bigRoom,
        to: bob.id,
        session_description: { type: "offer", sdp },
      });
      await expectRelay(bigRoom, alice, bob, 7);
      const offer = await bob.next<{ session_description: { sdp: string } }>("session-description");
      expect(offer.session_description.sdp === sdp).toBe(true);
      expect(order).toEqual(["session-description", "ice-candidate"]);
    });
  });

  it("answers a 100 KB peerinfo with auth-reject ERR_INVALID_REQUEST, and the socket stays connected", async () => {
    const carol = await peer("carol");
    const outcome = await carol.socket.emitWithAck("auth-request", {
      token: suite.appToken,
      peerinfo: { bio: "b".repeat(100_000) },
    });
    expect(outcome).toMatchObject({ ok: false, error: { code: "ERR_INVALID_REQUEST" } });
    expect(carol.socket.connected).toBe(true);
    expect(await carol.socket.emitWithAck("room-create-request", { auth: carol.session })).toMatchObject({ ok: true });
  });

  it.each([
    ["U+0085", "lobby\u0085"],
    ["U+2028", "lobby\u2028"],
    ["a lone surrogate", "lobby\ud800"],
  ])("refuses a room name with %s", async (_label, name) => {
    const dave = await peer("dave");
    const outcome = await dave.socket.emitWithAck("room-create-request", { auth: dave.session, room: name });
    expect(outcome).toMatchObject({ ok: false, error: { code: "ERR_INVALID_REQUEST" } });
    expect(await dave.next("room-create-reject")).toMatchObject({ code: "ERR_INVALID_REQUEST" });
  });

  it.each([
    ["U+0085", "%C2%85"],
    ["U+2028", "%E2%80%A8"],
  ])("refuses a handshake naming a room with %s (400)", async (_label, encoded) => {
    const url = socketUrl(suite.server.url, `&app=${APP}&room=lobby${encoded}&token=${suite.appToken}`);
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(url);
      ws.on("error", () => {});
      ws.on("open", () => {
        resolve(101);
        ws.close();
      });
      ws.on("unexpected-response", (request, response) => {
        resolve(response.statusCode ?? 0);
        request.destroy();
      });
    });
    expect(status).toBe(400);
  });

  it("logs a 60,000-character event name as unknown, and escapes a client's close reason", async () => {
    const erin = await peer("erin");
    sendRaw(erin, `2["${"e".repeat(60_000)}",{}]`);
    expect(await erin.next("signaling-error")).toMatchObject({ code: "ERR_UNKNOWN_EVENT" });

    const socket = await suite.raw();
    socket.ws.send("40");
    socket.ws.close(4001, "bye\u2028\u0085now");
    await socket.closed;

    await expect
      .poll(() => suite.server.output(), { timeout: 5_000 })
      .toMatch(/"log":"socket-close"[^\n]*bye\\\\u2028\\\\u0085now|bye\\\\u2028\\\\u0085now[^\n]*"log":"socket-close"/);
    const lines = suite.server.output().split("\n");
    const refusals = lines.filter((line) => line.includes('"log":"refusal"') && line.includes("ERR_UNKNOWN_EVENT"));
    expect(refusals.length).toBeGreaterThan(0);
    for (const line of refusals) {
      expect(line).toContain('"event":"unknown"');
      expect(line.length).toBeLessThan(1_000);
    }
    expect(lines.some((line) => line.length > 10_000)).toBe(false);
    expect(suite.server.output()).not.toMatch(/[\u0085\u2028]/);
  });
});
