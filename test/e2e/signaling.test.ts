import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { fetchAppToken } from "../support/app-token";
import { expectRelay } from "../support/call";
import { useDevServer } from "../support/dev-server-suite";
import type { TestPeer } from "../support/peer";

// The local-only secret from .dev.vars, to mint tokens the way a forger who knew it could.
const LOCAL_TOKEN_SECRET = "local-only-token-secret-do-not-deploy-0123456789";

type Placement = "room" | "own";

describe("signaling through wrangler dev with real socket.io-clients", () => {
  const suite = useDevServer();
  let roomCounter = 0;

  const peer = (name: string, placement: Placement, room: string, token?: string, app?: string) =>
    suite.peer(name, { room: placement === "room" ? room : undefined, token, app });

  describe.each([
    ["sockets that name the room at connect", ["room", "room", "room"]],
    ["sockets that name no room", ["own", "own", "own"]],
    ["a mix of both", ["room", "own", "room"]],
  ] as Array<[string, Placement[]]>)("the whole call set-up of three peers, with %s", (_label, placements) => {
    it("creates, asks, accepts one, rejects one, relays, leaves, and hands the room over", async () => {
      const room = `call-${++roomCounter}-${placements.join("-")}`;
      const [alice, bob, carol] = [
        await peer("alice", placements[0] as Placement, room),
        await peer("bob", placements[1] as Placement, room),
        await peer("carol", placements[2] as Placement, room),
      ] as [TestPeer, TestPeer, TestPeer];

      // Alice creates the room.
      expect(await alice.socket.emitWithAck("room-create-request", { auth: alice.session, room })).toEqual({
        ok: true,
        data: { room },
      });
      expect(await alice.next("room-create-accept")).toEqual({ room });

      // Bob and Carol ask; Alice sees both requests with their peerinfo and payload.
      bob.socket.emit("room-join-request", { auth: bob.session, room, payload: { user_login: "bob" } });
      carol.socket.emit("room-join-request", { auth: carol.session, room });
      expect(await alice.next("room-join-request", (d) => d.peer_id === bob.id)).toEqual({
        room,
        peer_id: bob.id,
        peerinfo: { name: "bob" },
        payload: { user_login: "bob" },
      });
      await alice.next("room-join-request", (d) => d.peer_id === carol.id);

      // Alice accepts Bob: Bob learns who is there, Alice learns Bob joined.
      alice.socket.emit("room-join-accept", { auth: alice.session, room, peer_id: bob.id, to: bob.id });
      expect(await bob.next("room-join-accept")).toEqual({
        room,
        peer_id: bob.id,
        peers: [alice.id],
        peersinfo: { [alice.id]: { name: "alice" } },
        payload: null,
      });
      expect(await alice.next("room-user-join")).toEqual({ room, peer_id: bob.id, peerinfo: { name: "bob" } });

      // Alice rejects Carol.
      alice.socket.emit("room-join-reject", { auth: alice.session, room, peer_id: carol.id, to: carol.id });
      expect(await carol.next("room-join-reject")).toMatchObject({
        room,
        code: "ERR_JOIN_REJECTED",
        message: expect.any(String),
      });

      // Offer, answer and candidates, with the sender's id and peerinfo.
      const offer = { type: "offer", sdp: "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n" };
      alice.socket.emit("relay-session-description", {
        auth: alice.session,
        room,
        to: bob.id,
        peer_id: bob.id,
        session_description: offer,
      });
      expect(await bob.next("session-description")).toEqual({
        room,
        peer_id: alice.id,
        session_description: offer,
        peerinfo: { name: "alice" },
        payload: null,
      });
      const answer = { type: "answer", sdp: "v=0\r\n" };
      bob.socket.emit("relay-session-description", {
        auth: bob.session,
        room,
        to: alice.id,
        peer_id: alice.id,
        session_description: answer,
      });
      expect(await alice.next("session-description")).toMatchObject({
        peer_id: bob.id,
        session_description: answer,
        peerinfo: { name: "bob" },
      });
      const candidate = { candidate: "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host", sdpMLineIndex: 0 };
      for (const [from, to] of [
        [alice, bob],
        [bob, alice],
      ] as Array<[TestPeer, TestPeer]>) {
        const ack = await from.socket.emitWithAck("relay-ice-candidate", {
          auth: from.session,
          room,
          to: to.id,
          ice_candidate: candidate,
          payload: { n: 1 },
        });
        expect(ack).toEqual({ ok: true, data: { room, to: to.id } });
        expect(await to.next("ice-candidate")).toEqual({
          room,
          peer_id: from.id,
          ice_candidate: candidate,
          peerinfo: { name: from === alice ? "alice" : "bob" },
          payload: { n: 1 },
        });
      }

      // Carol, rejected, cannot relay into the room.
      const refused = await carol.socket.emitWithAck("relay-ice-candidate", {
        auth: carol.session,
        room,
        to: alice.id,
        ice_candidate: candidate,
      });
      expect(refused).toMatchObject({ ok: false, error: { code: "ERR_NOT_MEMBER" } });
      expect(await carol.next("signaling-error")).toMatchObject({
        code: "ERR_NOT_MEMBER",
        event: "relay-ice-candidate",
      });

      // Alice leaves: Bob sees her go and inherits the room.
      expect(await alice.socket.emitWithAck("room-leave-request", { auth: alice.session, room })).toEqual({
        ok: true,
        data: { room },
      });
      expect(await bob.next("room-user-leave")).toEqual({ room, peer_id: alice.id, peerinfo: { name: "alice" } });
      expect(await bob.next("room-owner-change")).toEqual({ room, peer_id: bob.id, peerinfo: { name: "bob" } });

      // Carol asks again; the new owner answers.
      carol.socket.emit("room-join-request", { auth: carol.session, room });
      await bob.next("room-join-request", (d) => d.peer_id === carol.id);
      bob.socket.emit("room-join-accept", { auth: bob.session, room, peer_id: carol.id, to: carol.id });
      expect(await carol.next("room-join-accept")).toMatchObject({
        peers: [bob.id],
        peersinfo: { [bob.id]: { name: "bob" } },
      });

      // Bob disconnects: Carol sees him leave and owns the room.
      bob.close();
      expect(await carol.next("room-user-leave")).toEqual({ room, peer_id: bob.id, peerinfo: { name: "bob" } });
      expect(await carol.next("room-owner-change")).toEqual({ room, peer_id: carol.id, peerinfo: { name: "carol" } });

      // Carol leaves last: the room is gone and its name is free.
      await carol.socket.emitWithAck("room-leave-request", { auth: carol.session, room });
      const again = await alice.socket.emitWithAck("room-create-request", { auth: alice.session, room });
      expect(again).toEqual({ ok: true, data: { room } });

      // The logs carry ids and codes: never a token, an SDP, a candidate, peerinfo or payload.
      // (wrangler dev prints the runtime's log lines a moment later.)
      await expect.poll(() => suite.server.output(), { timeout: 5000 }).toContain('"log":"refusal"');
      const logs = suite.server.output();
      for (const secret of [
        suite.appToken,
        alice.session,
        bob.session,
        carol.session,
        "o=- 1 2 IN IP4",
        "typ host",
        '"user_login"',
        '"name":"bob"',
      ]) {
        expect(logs).not.toContain(secret);
      }
    });
  });

  it("keeps apps apart: two apps, one room name, two rooms, and nothing of one reaches the other", async () => {
    const otherToken = await fetchAppToken(suite.server.url, "other-app");
    const room = "tenancy-lobby";
    const mine = await peer("mine", "room", room);
    const theirs = await peer("theirs", "room", room, otherToken, "other-app");
    const stranger = await peer("stranger", "own", room, otherToken, "other-app");
    for (const owner of [mine, theirs]) {
      expect(await owner.socket.emitWithAck("room-create-request", { auth: owner.session, room })).toEqual({
        ok: true,
        data: { room },
      });
      expect(await owner.next("room-create-accept")).toEqual({ room });
    }

    // The other app's peer asks for "tenancy-lobby": its own app's owner hears it.
    stranger.socket.emit("room-join-request", { auth: stranger.session, room });
    expect(await theirs.next("room-join-request")).toMatchObject({ peer_id: stranger.id });
    await theirs.socket.emitWithAck("room-join-accept", { auth: theirs.session, room, peer_id: stranger.id });
    expect(await stranger.next("room-join-accept")).toMatchObject({ peers: [theirs.id] });

    // Neither can reach into my room, even knowing my id: not from the room's object, not from one of its own.
    for (const from of [theirs, stranger]) {
      for (const [event, body] of [
        ["relay-ice-candidate", { ice_candidate: { candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host" } }],
        ["relay-session-description", { session_description: { type: "offer", sdp: "v=0\r\n" } }],
      ] as const) {
        const outcome = await from.socket.emitWithAck(event, { auth: from.session, room, to: mine.id, ...body });
        expect(outcome).toMatchObject({ ok: false, error: { code: "ERR_PEER_NOT_IN_ROOM" } });
      }
    }

    // Then a peer of my app, in an object of its own, takes the same roads to me: a join request
    // (a room's events to one peer keep their order) and a relay over RPC (acknowledged once
    // delivered). Whatever the other app's requests had sent me would have arrived before these.
    const witness = await peer("witness", "own", room);
    witness.socket.emit("room-join-request", { auth: witness.session, room });
    expect(await mine.next("room-join-request")).toMatchObject({ peer_id: witness.id });
    await mine.socket.emitWithAck("room-join-accept", { auth: mine.session, room, peer_id: witness.id });
    expect(await witness.next("room-join-accept")).toMatchObject({ peers: [mine.id] });
    expect(await mine.next("room-user-join")).toMatchObject({ peer_id: witness.id });
    await expectRelay(room, witness, mine);
    expect(mine.pending()).toEqual([]);
    // And my app's events never reached theirs.
    for (const other of [theirs, stranger]) {
      expect(JSON.stringify(other.pending())).not.toContain(witness.id);
      expect(JSON.stringify(other.pending())).not.toContain(mine.id);
    }
  });

  describe("session tokens", () => {
    const sign = (claims: Record<string, unknown>, secret = LOCAL_TOKEN_SECRET, expiresAt?: number) => {
      const jwt = new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "session+jwt" }).setIssuedAt();
      if (expiresAt !== undefined) jwt.setExpirationTime(expiresAt);
      return jwt.sign(new TextEncoder().encode(secret));
    };

    it.each([
      [
        "forged",
        (p: TestPeer) =>
          sign(
            { app: "demo-chat-test", cid: p.id },
            "a-forger-guessing-the-secret-0123456789",
            Math.floor(Date.now() / 1000) + 60,
          ),
        "ERR_TOKEN_BAD_SIGNATURE",
      ],
      [
        "expired",
        (p: TestPeer) =>
          sign({ app: "demo-chat-test", cid: p.id }, LOCAL_TOKEN_SECRET, Math.floor(Date.now() / 1000) - 10),
        "ERR_TOKEN_EXPIRED",
      ],
      [
        "cross-app",
        (p: TestPeer) => sign({ app: "other-app", cid: p.id }, LOCAL_TOKEN_SECRET, Math.floor(Date.now() / 1000) + 60),
        "ERR_TOKEN_WRONG_APP",
      ],
      [
        "cross-connection",
        (_p: TestPeer, other: TestPeer) => Promise.resolve(other.session),
        "ERR_TOKEN_WRONG_CONNECTION",
      ],
    ])("refuses a %s session token with unauthorized, doing nothing", async (_label, makeToken, code) => {
      const room = `tokens-${++roomCounter}`;
      const victim = await peer("victim", "own", room);
      const other = await peer("other", "own", room);
      const auth = await makeToken(victim, other);
      const outcome = await victim.socket.emitWithAck("room-create-request", { auth, room });
      expect(outcome).toMatchObject({ ok: false, error: { code } });
      expect(await victim.next("unauthorized")).toEqual({ code, message: "Token is not valid" });
      // Nothing happened: the room was not created.
      expect(await other.socket.emitWithAck("room-create-request", { auth: other.session, room })).toMatchObject({
        ok: true,
      });
    });
  });

  it("keeps a healthy room intact while another socket in its object sends garbage", async () => {
    const room = "garbage-proof";
    const alice = await peer("alice", "room", room);
    const bob = await peer("bob", "room", room);
    await alice.socket.emitWithAck("room-create-request", { auth: alice.session, room });
    bob.socket.emit("room-join-request", { auth: bob.session, room });
    await alice.next("room-join-request");
    await alice.socket.emitWithAck("room-join-accept", { auth: alice.session, room, peer_id: bob.id, to: bob.id });
    await bob.next("room-join-accept");

    // A raw WebSocket in the same room's object, speaking garbage.
    const raw = await suite.raw(room);
    await raw.next();
    raw.send("40");
    for (const frame of [
      "zzz",
      '42["room-join-accept",{"room":5}]',
      '42["relay-ice-candidate","x"]',
      "4{{{{",
      '451-["x",{}]',
      Buffer.from([1, 2, 3]),
    ]) {
      raw.ws.send(frame);
    }
    raw.send(`42["x","${"a".repeat(1_000_001)}"]`);
    await raw.closed;

    const candidate = { candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host", sdpMLineIndex: 0 };
    const ack = await alice.socket.emitWithAck("relay-ice-candidate", {
      auth: alice.session,
      room,
      to: bob.id,
      ice_candidate: candidate,
    });
    expect(ack).toMatchObject({ ok: true });
    expect(await bob.next("ice-candidate")).toMatchObject({ peer_id: alice.id, ice_candidate: candidate });
  });
});
