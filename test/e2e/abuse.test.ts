import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { expectRelay, setUpRoom } from "../support/call";
import { useDevServer } from "../support/dev-server-suite";
import { fuzzFrame, random } from "../support/fuzz-frames";

// Smaller than the default (1 MB) so that the fuzzer's oversized frames stay cheap to send.
const MAX_FRAME_BYTES = 65_536;

describe("a server under abuse", () => {
  const suite = useDevServer({
    vars: {
      RATE_LIMIT_PER_SECOND: "20",
      RATE_LIMIT_BURST: "40",
      JOIN_REQUEST_TIMEOUT_MS: "600",
      MAX_FRAME_BYTES: String(MAX_FRAME_BYTES),
    },
  });
  const peer = (name: string, room?: string) => suite.peer(name, { room });

  /** A raw client that has sent CONNECT (in `room`'s object, or in one of its own). */
  const rawSocket = (room?: string) => suite.raw(room, { connect: true });

  it("survives thousands of hostile frames, and a room made before still sets up a call", async () => {
    const room = "fuzz-target";
    const [alice, bob] = [await peer("alice", room), await peer("bob")];
    await setUpRoom(room, alice, bob);

    // 50 raw sockets, half inside the room's own object, 40 frames each (the burst limit).
    const clients = await Promise.all(Array.from({ length: 50 }, (_, i) => rawSocket(i % 2 ? room : undefined)));
    let sent = 0;
    clients.forEach(({ ws }, i) => {
      const next = random(1000 + i);
      for (let n = 0; n < 40; n++) {
        if (ws.readyState !== WebSocket.OPEN) break;
        ws.send(fuzzFrame(next, MAX_FRAME_BYTES));
        sent++;
      }
    });
    expect(sent).toBeGreaterThan(1000);
    await new Promise((r) => setTimeout(r, 500));
    for (const { ws } of clients) ws.close();
    await Promise.all(clients.map(({ closed }) => closed));

    // The room is intact, and a newcomer completes a call set-up.
    await expectRelay(room, alice, bob);
    await expectRelay(room, bob, alice, 2);
    const carol = await peer("carol");
    carol.socket.emit("room-join-request", { auth: carol.session, room });
    await alice.next("room-join-request", (d) => d.peer_id === carol.id);
    alice.socket.emit("room-join-accept", { auth: alice.session, room, peer_id: carol.id });
    expect(await carol.next("room-join-accept")).toMatchObject({ peers: [alice.id, bob.id] });
    await expectRelay(room, carol, bob, 3);

    // The frames were read and refused, and the log says so without a line per frame (at most 5
    // refusals per socket in 10 s, the rest counted in its close line); nothing crashed: no
    // uncaught error, no internal error.
    const refusals = suite.server.output().match(/"log":"refusal"/g) ?? [];
    expect(refusals.length).toBeGreaterThanOrEqual(25);
    expect(refusals.length).toBeLessThanOrEqual(50 * 5 + 50);
    expect(suite.server.output()).toMatch(/"unloggedRefusals":\d+/);
    expect(suite.server.output()).not.toMatch(/Uncaught|ERR_INTERNAL|internal error/);
  });

  it("limits a flood from one socket, closing it, while a call in another room proceeds", async () => {
    const room = "calm-room";
    const [alice, bob] = [await peer("alice"), await peer("bob", room)];
    await setUpRoom(room, alice, bob);

    const flooder = await rawSocket();
    for (let i = 0; i < 2000 && flooder.ws.readyState === WebSocket.OPEN; i++) {
      flooder.ws.send(`42${i}["relay-ice-candidate",{"auth":"x","room":"r","to":"y","ice_candidate":{}}]`);
    }
    for (let n = 0; n < 20; n++) await expectRelay(room, n % 2 ? alice : bob, n % 2 ? bob : alice, n);
    expect(await flooder.closed).toBe(1008);
    expect(flooder.unread().some((frame) => frame.includes("ERR_RATE_LIMITED"))).toBe(true);
  });

  it("answers the acks of the first rate-limited frames, then drops the rest unanswered", async () => {
    const chatty = await peer("chatty");
    // The burst is 40 and auth-request took one: 60 requests at once leave 21 over the limit.
    const outcomes = await Promise.all(
      Array.from({ length: 60 }, () =>
        chatty.socket
          .timeout(2_000)
          .emitWithAck("room-leave-request", { auth: chatty.session, room: "none" })
          .then((o) => (o.ok ? "ok" : o.error.code))
          .catch(() => "no answer"),
      ),
    );
    const count = (code: string) => outcomes.filter((c) => c === code).length;
    expect(count("ERR_RATE_LIMITED")).toBe(3);
    expect(count("ERR_ROOM_NOT_FOUND") + count("ERR_RATE_LIMITED") + count("no answer")).toBe(60);
    expect(count("no answer")).toBeGreaterThan(0);
    // Refused, not closed: the socket carries on once it slows down.
    expect(chatty.socket.connected).toBe(true);
  });

  it("turns a candidate away when the owner does not answer in time", async () => {
    const room = "slow-owner";
    const [owner, candidate] = [await peer("owner"), await peer("candidate")];
    expect(await owner.socket.emitWithAck("room-create-request", { auth: owner.session, room })).toMatchObject({
      ok: true,
    });
    candidate.socket.emit("room-join-request", { auth: candidate.session, room });
    await owner.next("room-join-request");
    // JOIN_REQUEST_TIMEOUT_MS is 600 here.
    expect(await candidate.next("room-join-reject")).toMatchObject({ code: "ERR_JOIN_TIMEOUT", room });
    const late = await owner.socket.emitWithAck("room-join-accept", {
      auth: owner.session,
      room,
      peer_id: candidate.id,
    });
    expect(late).toMatchObject({ ok: false, error: { code: "ERR_NO_SUCH_REQUEST" } });
  });
});
