import { describe, expect, it } from "vitest";
import { expectRelay, setUpRoom } from "../support/call";
import { useDevServer } from "../support/dev-server-suite";
import { dropTcp, type TestPeer, transportOf } from "../support/peer";

/**
 * Room rules that unit tests check on the pure core (test/unit/room-rules.test.ts), each once more
 * over real connections to `wrangler dev`, where the Durable Objects, their RPCs and the sockets'
 * closes take part. The ping interval stays at its default (60 s): no alarm runs during a test,
 * so whatever a test sees happened because of the request or the close itself.
 */

const MAX_ROOM_MEMBERS = 5;
/** The default `MAX_PAYLOAD_BYTES`. */
const MAX_PAYLOAD_BYTES = 8_192;

type Placement = "room" | "own";

const candidate = (n: number) => ({ candidate: `candidate:${n} 1 udp 1 127.0.0.1 9 typ host`, sdpMLineIndex: 0 });

describe("room rules over real connections", () => {
  const suite = useDevServer({ vars: { MAX_ROOM_MEMBERS: String(MAX_ROOM_MEMBERS) } });
  let counter = 0;

  /** A peer without connection state recovery: its closes are departures. */
  const peer = (name: string, placement: Placement, room: string) =>
    suite.peer(name, { room: placement === "room" ? room : undefined });

  /** Events of these names received and not yet taken. */
  const unread = (peer: TestPeer, ...events: string[]) => peer.pending().filter(([event]) => events.includes(event));
  /** Events of this name received, not yet taken, and about `about` (their `peer_id`). */
  const unreadAbout = (peer: TestPeer, event: string, about: TestPeer) =>
    unread(peer, event).filter(([, data]) => (data as { peer_id?: string }).peer_id === about.id);

  it(`refuses an accept past MAX_ROOM_MEMBERS (${MAX_ROOM_MEMBERS}) though the requests came while there was room`, async () => {
    const room = `full-at-accept-${++counter}`;
    const owner = await peer("owner", "room", room);
    const [m1, m2, m3] = [await peer("m1", "own", room), await peer("m2", "room", room), await peer("m3", "own", room)];
    await setUpRoom(room, owner, m1, m2, m3);
    // Four members, one place left: both requests are let through to the owner.
    const [early, late] = [await peer("early", "own", room), await peer("late", "room", room)];
    for (const asker of [early, late]) {
      expect(await asker.socket.emitWithAck("room-join-request", { auth: asker.session, room })).toEqual({
        ok: true,
        data: { room },
      });
      await owner.next("room-join-request", (d) => d.peer_id === asker.id);
    }

    const accepted = await owner.socket.emitWithAck("room-join-accept", {
      auth: owner.session,
      room,
      peer_id: early.id,
    });
    expect(accepted).toMatchObject({ ok: true });
    expect(await early.next("room-join-accept")).toMatchObject({ peers: [owner.id, m1.id, m2.id, m3.id] });

    // The sixth: refused to the owner, and the candidate is told its request is over.
    const refused = await owner.socket.emitWithAck("room-join-accept", { auth: owner.session, room, peer_id: late.id });
    expect(refused).toMatchObject({ ok: false, error: { code: "ERR_ROOM_FULL" } });
    expect(await owner.next("signaling-error")).toMatchObject({ code: "ERR_ROOM_FULL", event: "room-join-accept" });
    expect(await late.next("room-join-reject")).toMatchObject({ code: "ERR_ROOM_FULL", room });
    expect(unread(late, "room-join-accept")).toEqual([]);

    // Nobody heard of a sixth member. m2 leaves: the room's events to one peer keep their order, so a
    // room-user-join the refused accept had sent would come before this room-user-leave.
    await m2.socket.emitWithAck("room-leave-request", { auth: m2.session, room });
    for (const member of [owner, m1, m3, early]) {
      await member.next("room-user-leave", (d) => d.peer_id === m2.id);
      expect(unreadAbout(member, "room-user-join", late)).toEqual([]);
    }
    // And it is not one: it cannot relay, nor be relayed to.
    const intruding = await late.socket.emitWithAck("relay-ice-candidate", {
      auth: late.session,
      room,
      to: owner.id,
      ice_candidate: candidate(2),
    });
    expect(intruding).toMatchObject({ ok: false, error: { code: "ERR_NOT_MEMBER" } });
    const toLate = await owner.socket.emitWithAck("relay-ice-candidate", {
      auth: owner.session,
      room,
      to: late.id,
      ice_candidate: candidate(3),
    });
    expect(toLate).toMatchObject({ ok: false, error: { code: "ERR_PEER_NOT_IN_ROOM" } });
    // Its request is gone: a second accept finds none.
    const again = await owner.socket.emitWithAck("room-join-accept", { auth: owner.session, room, peer_id: late.id });
    expect(again).toMatchObject({ ok: false, error: { code: "ERR_NO_SUCH_REQUEST" } });
  });

  describe.each([
    ["a member's TCP connection is cut (its socket in an object of its own)", "tcp", "member", "own"],
    ["the owner's tab is closed, code 1001 (its socket in the room's object)", "1001", "owner", "room"],
  ] as Array<[string, "tcp" | "1001", "member" | "owner", Placement]>)(
    "a socket that goes without a DISCONNECT packet: %s",
    (_label, how, who, placement) => {
      it("leaves its rooms at once: the others hear it within seconds, not at an alarm a minute later", async () => {
        const room = `gone-${how}-${++counter}`;
        const owner = await peer("owner", who === "owner" ? placement : "room", room);
        const [bob, carol] = [await peer("bob", "own", room), await peer("carol", "room", room)];
        const dave = await peer("dave", who === "member" ? placement : "own", room);
        await setUpRoom(room, owner, bob, carol, dave);
        const leaver = who === "owner" ? owner : dave;
        const stay = [owner, bob, carol, dave].filter((p) => p !== leaver);

        const closing = new Promise((resolve) => leaver.socket.once("disconnect", resolve));
        const at = Date.now();
        if (how === "tcp") dropTcp(leaver.socket);
        else transportOf(leaver.socket).close(1001, "tab closed");
        await closing;

        for (const member of stay) {
          expect(await member.next("room-user-leave", undefined, 5_000)).toEqual({
            room,
            peer_id: leaver.id,
            peerinfo: { name: who === "owner" ? "owner" : "dave" },
          });
        }
        expect(Date.now() - at).toBeLessThan(5_000); // PING_INTERVAL_MS is 60 s
        if (who === "owner") {
          for (const member of stay) {
            expect(await member.next("room-owner-change")).toEqual({
              room,
              peer_id: bob.id,
              peerinfo: { name: "bob" },
            });
          }
        }
        // The room knows it too: the gone peer is not relayed to, and the rest still talk.
        const [first, second] = stay as [TestPeer, TestPeer];
        const toGone = await first.socket.emitWithAck("relay-ice-candidate", {
          auth: first.session,
          room,
          to: leaver.id,
          ice_candidate: candidate(1),
        });
        expect(toGone).toMatchObject({ ok: false, error: { code: "ERR_PEER_NOT_IN_ROOM" } });
        await expectRelay(room, first, second, 2);
      });
    },
  );

  it("refuses an accept or a reject from a member who is not the owner, and the request still waits for the owner", async () => {
    const room = `not-owner-${++counter}`;
    const owner = await peer("owner", "room", room);
    const bob = await peer("bob", "own", room);
    await setUpRoom(room, owner, bob);
    const carol = await peer("carol", "own", room);
    carol.socket.emit("room-join-request", { auth: carol.session, room });
    await owner.next("room-join-request", (d) => d.peer_id === carol.id);
    expect(unread(bob, "room-join-request")).toEqual([]);

    for (const answer of ["room-join-accept", "room-join-reject"] as const) {
      const outcome = await bob.socket.emitWithAck(answer, {
        auth: bob.session,
        room,
        peer_id: carol.id,
        to: carol.id,
      });
      expect(outcome).toMatchObject({ ok: false, error: { code: "ERR_NOT_OWNER" } });
      expect(await bob.next("signaling-error")).toMatchObject({ code: "ERR_NOT_OWNER", event: answer, room });
    }

    // The owner's accept still finds the request. The room's events to one peer keep their order,
    // so anything bob's answers had sent carol or the members would have come before these.
    const accepted = await owner.socket.emitWithAck("room-join-accept", {
      auth: owner.session,
      room,
      peer_id: carol.id,
    });
    expect(accepted).toEqual({ ok: true, data: { room, peer_id: carol.id } });
    expect(await carol.next("room-join-accept")).toMatchObject({ peers: [owner.id, bob.id] });
    for (const member of [owner, bob]) {
      await member.next("room-user-join", (d) => d.peer_id === carol.id);
      expect(unreadAbout(member, "room-user-join", carol)).toEqual([]);
    }
    expect(unread(carol, "room-join-accept", "room-join-reject")).toEqual([]);
  });

  describe.each([
    ["sender and candidate in the room's object", "room", "room"],
    ["sender in the room's object, candidate in its own", "room", "own"],
    ["sender in its own object, candidate in the room's", "own", "room"],
  ] as Array<[string, Placement, Placement]>)("relays and a waiting candidate, %s", (_label, ownerAt, candidateAt) => {
    it("refuses a relay to or from a candidate until it is accepted, delivering nothing", async () => {
      const room = `waiting-${ownerAt}-${candidateAt}-${++counter}`;
      const owner = await peer("owner", ownerAt, room);
      const bob = await peer("bob", "own", room);
      await setUpRoom(room, owner, bob);
      const carol = await peer("carol", candidateAt, room);
      carol.socket.emit("room-join-request", { auth: carol.session, room });
      await owner.next("room-join-request", (d) => d.peer_id === carol.id);

      for (const [from, n] of [
        [owner, 1],
        [bob, 2],
      ] as Array<[TestPeer, number]>) {
        const toCandidate = await from.socket.emitWithAck("relay-ice-candidate", {
          auth: from.session,
          room,
          to: carol.id,
          ice_candidate: candidate(n),
        });
        expect(toCandidate).toMatchObject({ ok: false, error: { code: "ERR_PEER_NOT_IN_ROOM" } });
        expect(await from.next("signaling-error")).toMatchObject({
          code: "ERR_PEER_NOT_IN_ROOM",
          event: "relay-ice-candidate",
        });
      }
      const fromCandidate = await carol.socket.emitWithAck("relay-session-description", {
        auth: carol.session,
        room,
        to: owner.id,
        session_description: { type: "offer", sdp: "v=0\r\n" },
      });
      expect(fromCandidate).toMatchObject({ ok: false, error: { code: "ERR_NOT_MEMBER" } });

      // Accepted, carol is relayed to; the first candidate she gets is this one (a sender's relays
      // to one receiver keep their order), and the owner never got her offer.
      await owner.socket.emitWithAck("room-join-accept", { auth: owner.session, room, peer_id: carol.id });
      await carol.next("room-join-accept");
      await expectRelay(room, owner, carol, 3);
      await expectRelay(room, bob, carol, 4);
      await expectRelay(room, carol, owner, 5);
      expect(unread(carol, "ice-candidate")).toEqual([]);
      expect(unread(owner, "session-description")).toEqual([]);
    });
  });

  describe.each([
    ["in the room's object", "room"],
    ["in an object of its own", "own"],
  ] as Array<[string, Placement]>)("a payload over MAX_PAYLOAD_BYTES from a sender %s", (_label, senderAt) => {
    // JSON of a string of n characters "x" is n + 2 bytes.
    const atLimit = "x".repeat(MAX_PAYLOAD_BYTES - 2);
    const overLimit = "x".repeat(MAX_PAYLOAD_BYTES - 1);

    it("is refused with ERR_PAYLOAD_TOO_LARGE and delivers nothing; one at the limit goes through; the socket stays", async () => {
      const room = `payload-${senderAt}-${++counter}`;
      const owner = await peer("owner", "room", room);
      const sender = await peer("sender", senderAt, room);

      await setUpRoom(room, owner);
      // A join request: refused, the owner hears nothing; the same at the limit is the first it hears.
      const tooBig = await sender.socket.emitWithAck("room-join-request", {
        auth: sender.session,
        room,
        payload: overLimit,
      });
      expect(tooBig).toMatchObject({ ok: false, error: { code: "ERR_PAYLOAD_TOO_LARGE" } });
      expect(await sender.next("room-join-reject")).toMatchObject({ code: "ERR_PAYLOAD_TOO_LARGE" });
      sender.socket.emit("room-join-request", { auth: sender.session, room, payload: atLimit });
      expect(await owner.next("room-join-request")).toMatchObject({ peer_id: sender.id, payload: atLimit });
      expect(unread(owner, "room-join-request")).toEqual([]);
      await owner.socket.emitWithAck("room-join-accept", { auth: owner.session, room, peer_id: sender.id });
      await sender.next("room-join-accept");

      // A relay: refused, the receiver gets nothing; the next one, at the limit, is the first to arrive.
      const relay = (payload: string, n: number) =>
        sender.socket.emitWithAck("relay-ice-candidate", {
          auth: sender.session,
          room,
          to: owner.id,
          ice_candidate: candidate(n),
          payload,
        });
      expect(await relay(overLimit, 1)).toMatchObject({ ok: false, error: { code: "ERR_PAYLOAD_TOO_LARGE" } });
      expect(await sender.next("signaling-error")).toMatchObject({
        code: "ERR_PAYLOAD_TOO_LARGE",
        event: "relay-ice-candidate",
      });
      expect(await relay(atLimit, 2)).toEqual({ ok: true, data: { room, to: owner.id } });
      expect(await owner.next("ice-candidate")).toMatchObject({ ice_candidate: candidate(2), payload: atLimit });
      expect(unread(owner, "ice-candidate")).toEqual([]);
      expect(sender.socket.connected).toBe(true);
    });
  });

  it("hands the room of an owner who leaves two or more members to the one who joined earliest", async () => {
    const room = `heir-${++counter}`;
    const owner = await peer("owner", "room", room);
    const members = [await peer("m-a", "own", room), await peer("m-b", "room", room), await peer("m-c", "own", room)];
    const nameOf = (member: TestPeer) => `m-${"abc"[members.indexOf(member)]}`;
    // Admitted in the order: middle id, highest id, lowest id. So the earliest is neither the
    // lowest nor the highest id, nor the latest: only join order picks it.
    const byId = [...members].sort((a, b) => (a.id < b.id ? -1 : 1)) as [TestPeer, TestPeer, TestPeer];
    const order: [TestPeer, TestPeer, TestPeer] = [byId[1], byId[2], byId[0]];
    await setUpRoom(room, owner, ...order);
    const [heir, second, third] = order;
    // A request waits for the owner when it leaves.
    const newcomer = await peer("newcomer", "own", room);
    newcomer.socket.emit("room-join-request", { auth: newcomer.session, room });
    await owner.next("room-join-request", (d) => d.peer_id === newcomer.id);

    expect(await owner.socket.emitWithAck("room-leave-request", { auth: owner.session, room })).toEqual({
      ok: true,
      data: { room },
    });
    const change = { room, peer_id: heir.id, peerinfo: { name: nameOf(heir) } };
    for (const member of order) {
      expect(await member.next("room-user-leave")).toEqual({ room, peer_id: owner.id, peerinfo: { name: "owner" } });
      expect(await member.next("room-owner-change")).toEqual(change);
    }
    // The waiting request is the heir's to answer, and only the heir's.
    expect(await heir.next("room-join-request")).toMatchObject({ peer_id: newcomer.id });
    for (const other of [second, third]) {
      expect(unread(other, "room-join-request")).toEqual([]);
      const outcome = await other.socket.emitWithAck("room-join-accept", {
        auth: other.session,
        room,
        peer_id: newcomer.id,
      });
      expect(outcome).toMatchObject({ ok: false, error: { code: "ERR_NOT_OWNER" } });
    }
    const byOldOwner = await owner.socket.emitWithAck("room-join-accept", {
      auth: owner.session,
      room,
      peer_id: newcomer.id,
    });
    expect(byOldOwner).toMatchObject({ ok: false, error: { code: "ERR_NOT_OWNER" } });
    const byHeir = await heir.socket.emitWithAck("room-join-accept", {
      auth: heir.session,
      room,
      peer_id: newcomer.id,
    });
    expect(byHeir).toMatchObject({ ok: true });
    expect(await newcomer.next("room-join-accept")).toMatchObject({ peers: [heir.id, second.id, third.id] });
  });
});
