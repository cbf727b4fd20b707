import { describe, expect, it } from "vitest";
import { setUpRoom } from "../support/call";
import { TEST_APP as APP, useDevServer } from "../support/dev-server-suite";
import type { TestPeer } from "../support/peer";

/**
 * Relays between sockets in different objects go from the sender's object
 * straight to the receiver's. The guarantee: a relay is delivered only if
 * both ends were members when their objects handled it, also while a join
 * or a leave races with it.
 */
describe("the one-hop relay", () => {
  // Wakes are logged, so the test can see which objects a relay touched; the rate limit is out of the way.
  const suite = useDevServer({
    vars: { LOG_WAKES: "true", RATE_LIMIT_PER_SECOND: "5000", RATE_LIMIT_BURST: "5000" },
  });
  const peer = (name: string, room?: string) => suite.peer(name, { room });

  const candidate = (n: number) => ({ candidate: `candidate:${n} 1 udp 1 127.0.0.1 9 typ host`, sdpMLineIndex: 0 });
  const relay = (from: TestPeer, to: TestPeer, room: string, n: number) =>
    from.socket.emitWithAck("relay-ice-candidate", {
      auth: from.session,
      room,
      to: to.id,
      ice_candidate: candidate(n),
    });
  const wakesOf = (object: string) =>
    suite.server
      .output()
      .split("\n")
      .filter((line) => line.includes('"log":"wake"') && line.includes(`"object":"${object}"`)).length;

  it("between two sockets of their own objects, never wakes the room's object", async () => {
    const room = "one-hop";
    const [alice, bob] = [await peer("alice"), await peer("bob")];
    await setUpRoom(room, alice, bob);
    // The first relay may teach alice's object the roster; after that, none go through the room.
    expect(await relay(alice, bob, room, 0)).toMatchObject({ ok: true });
    await bob.next("ice-candidate");
    await new Promise((resolve) => setTimeout(resolve, 200));
    const before = wakesOf(`room:${APP}/${room}`);
    for (let n = 1; n <= 50; n++) {
      expect(await relay(n % 2 ? alice : bob, n % 2 ? bob : alice, room, n)).toMatchObject({ ok: true });
      expect(await (n % 2 ? bob : alice).next("ice-candidate")).toMatchObject({ ice_candidate: candidate(n) });
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(wakesOf(`room:${APP}/${room}`)).toBe(before);
  });

  it.each([
    ["own objects", false],
    ["the room's object", true],
  ])(
    "delivers nothing to a peer after its leave was answered, with relays racing the leave (%s)",
    async (_l, named) => {
      const room = `leave-race-${named}`;
      const [alice, bob] = [await peer("alice", named ? room : undefined), await peer("bob")];
      await setUpRoom(room, alice, bob);
      // Bob's view, in the order his socket received it.
      const seen: string[] = [];
      bob.socket.onAny((event: string) => seen.push(event));
      let running = true;
      let sent = 0;
      const outcomes: string[] = [];
      const flood = (async () => {
        while (running) {
          const outcome = await relay(alice, bob, room, sent++);
          outcomes.push(outcome.ok ? "ok" : outcome.error.code);
        }
      })();
      await new Promise((resolve) => setTimeout(resolve, 50));
      const left = await bob.socket.emitWithAck("room-leave-request", { auth: bob.session, room });
      seen.push("<left>");
      expect(left).toMatchObject({ ok: true });
      await alice.next("room-user-leave");
      await new Promise((resolve) => setTimeout(resolve, 100));
      running = false;
      await flood;

      expect(outcomes).toContain("ok");
      // Once alice heard of the leave, her relays were refused; bob received none after his answer.
      expect(outcomes.at(-1)).toBe("ERR_PEER_NOT_IN_ROOM");
      expect(seen.slice(seen.indexOf("<left>"))).not.toContain("ice-candidate");
      // Every relay alice was told was delivered, bob received.
      expect(seen.filter((event) => event === "ice-candidate")).toHaveLength(outcomes.filter((o) => o === "ok").length);
    },
  );

  it("refuses relays to and from a candidate until its welcome, and delivers none before it", async () => {
    const room = "join-race";
    const [alice, carol] = [await peer("alice"), await peer("carol")];
    await setUpRoom(room, alice);
    const carolSaw: string[] = [];
    carol.socket.onAny((event: string) => carolSaw.push(event));
    const aliceSaw: string[] = [];
    alice.socket.onAny((event: string, data: { peer_id?: string }) => {
      if (data?.peer_id === carol.id) aliceSaw.push(event);
    });
    carol.socket.emit("room-join-request", { auth: carol.session, room });
    await alice.next("room-join-request");
    // A candidate is no member: what it sends before its welcome is refused, not delivered. (Answered
    // before the accept leaves: carol's socket and alice's are not ordered with each other.)
    expect(await relay(carol, alice, room, 1001)).toMatchObject({ ok: false, error: { code: "ERR_NOT_MEMBER" } });
    // Relays both ways race her admission.
    const early = relay(alice, carol, room, 1);
    const accepted = alice.socket.emitWithAck("room-join-accept", { auth: alice.session, room, peer_id: carol.id });
    const racing = Array.from({ length: 20 }, (_, i) => relay(alice, carol, room, 2 + i));
    const racingFrom = Array.from({ length: 20 }, (_, i) => relay(carol, alice, room, 1002 + i));
    expect(await early).toMatchObject({ ok: false, error: { code: "ERR_PEER_NOT_IN_ROOM" } });
    expect(await accepted).toMatchObject({ ok: true });
    const outcomes = await Promise.all(racing);
    const outcomesFrom = await Promise.all(racingFrom);
    await carol.next("room-join-accept");
    await alice.next("room-user-join", (d) => d.peer_id === carol.id);
    const delivered = outcomes.filter((o) => o.ok).length;
    for (let i = 0; i < delivered; i++) await carol.next("ice-candidate");
    const deliveredFrom = outcomesFrom.filter((o) => o.ok).length;
    for (let i = 0; i < deliveredFrom; i++) await alice.next("ice-candidate", (d) => d.peer_id === carol.id);
    // Whatever got through came after the welcome: hers, and alice's news of her.
    const firstRelay = carolSaw.indexOf("ice-candidate");
    if (firstRelay >= 0) expect(carolSaw.indexOf("room-join-accept")).toBeLessThan(firstRelay);
    const firstFrom = aliceSaw.indexOf("ice-candidate");
    if (firstFrom >= 0) expect(aliceSaw.indexOf("room-user-join")).toBeLessThan(firstFrom);
    // Exactly the accepted ones arrived: none of the refused relays from her leaked through.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(aliceSaw.filter((event) => event === "ice-candidate")).toHaveLength(deliveredFrom);
    // And once she is in, relays reach her and come from her.
    expect(await relay(alice, carol, room, 99)).toMatchObject({ ok: true });
    expect(await relay(carol, alice, room, 1099)).toMatchObject({ ok: true });
    await alice.next("ice-candidate", (d) => d.peer_id === carol.id);
  });

  it("sends a newcomer its welcome only after the earlier members heard of it, so its first offer never overtakes their room-user-join", async () => {
    const room = "newcomer-offers";
    const [alice, bob, carol] = [await peer("alice"), await peer("bob", room), await peer("carol")];
    await setUpRoom(room, alice, bob);
    const bobSaw: string[] = [];
    bob.socket.onAny((event: string, data: { peer_id?: string }) => {
      if (data?.peer_id === carol.id) bobSaw.push(event);
    });
    carol.socket.emit("room-join-request", { auth: carol.session, room });
    await alice.next("room-join-request", (d) => d.peer_id === carol.id);
    alice.socket.emit("room-join-accept", { auth: alice.session, room, peer_id: carol.id });
    const welcome = await carol.next<{ peers: string[] }>("room-join-accept");
    // Carol offers to every peer at once, as newcomers do.
    await Promise.all(
      welcome.peers.map((to) =>
        carol.socket.emitWithAck("relay-session-description", {
          auth: carol.session,
          room,
          to,
          session_description: { type: "offer", sdp: "v=0" },
        }),
      ),
    );
    await bob.next("session-description");
    expect(bobSaw).toEqual(["room-user-join", "session-description"]);
  });

  it.each([
    ["own objects", false],
    ["the room's object", true],
  ])(
    "delivers a peer's relays sent just before its leave before the room-user-leave it causes (%s)",
    async (_l, named) => {
      const room = `relays-then-leave-${named}`;
      const [alice, bob] = [await peer("alice", named ? room : undefined), await peer("bob")];
      await setUpRoom(room, alice, bob);
      const seen: string[] = [];
      bob.socket.onAny((event: string) => seen.push(event));
      // Twenty candidates without waiting for their acks, then the leave: as a closing tab's last words.
      for (let n = 0; n < 20; n++) {
        alice.socket.emit("relay-ice-candidate", {
          auth: alice.session,
          room,
          to: bob.id,
          ice_candidate: candidate(n),
        });
      }
      expect(await alice.socket.emitWithAck("room-leave-request", { auth: alice.session, room })).toMatchObject({
        ok: true,
      });
      await bob.next("room-user-leave");
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(seen).toEqual([
        ...Array.from({ length: 20 }, () => "ice-candidate"),
        "room-user-leave",
        "room-owner-change",
      ]);
    },
  );
});
