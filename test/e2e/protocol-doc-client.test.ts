import { afterEach, describe, expect, it } from "vitest";
import { signSessionToken } from "../../src/auth/tokens";
import { useDevServer } from "../support/dev-server-suite";
import { eventFrame, FrameClient, socketUrl } from "../support/frame-client";

/**
 * docs/PROTOCOL.md, "Writing a client": a client that knows nothing of
 * socket.io-client, only the frames that section shows, through a whole call.
 * Every frame it writes is written as the document writes it; every frame it
 * reads is checked against the document's shape and order.
 */

// Short heartbeats, so the client sees (and answers) the server's pings within the test.
const PING_INTERVAL_MS = 1000;
const APP = "protocol-doc";
// The local-only secret from .dev.vars: to mint the session token a long-gone hour would have issued.
const LOCAL_TOKEN_SECRET = "local-only-token-secret-do-not-deploy-0123456789";

describe("a raw WebSocket client written from docs/PROTOCOL.md alone", () => {
  const suite = useDevServer({ app: APP, vars: { PING_INTERVAL_MS: String(PING_INTERVAL_MS) } });
  const clients: FrameClient[] = [];
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });

  /** Opens the WebSocket and reads the open packet: `0{...}`. */
  async function open(query = ""): Promise<{ client: FrameClient; engineSid: string }> {
    const client = await FrameClient.open(socketUrl(suite.server.url, query));
    clients.push(client);
    const openPacket = await client.next();
    expect(openPacket.charAt(0)).toBe("0");
    const handshake = JSON.parse(openPacket.slice(1)) as Record<string, unknown>;
    expect(handshake).toEqual({
      sid: expect.any(String),
      upgrades: [],
      pingInterval: PING_INTERVAL_MS,
      pingTimeout: expect.any(Number),
      maxPayload: expect.any(Number),
    });
    return { client, engineSid: handshake.sid as string };
  }

  it("gets two peers through a whole call: connect, auth, create, join, accept, offer/answer, ICE, leave", async () => {
    const room = "doc-call";

    // Ann names app, room and app token in the query (the room's own object);
    // Bob names nothing. Both speak the same frames.
    const ann = await open(`&app=${APP}&room=${room}&token=${encodeURIComponent(suite.appToken)}`);
    const bob = await open();

    // CONNECT: `40` or `40{"token":...}`, answered `40{"sid":...}`: the peer_id.
    ann.client.send("40");
    bob.client.send(`40${JSON.stringify({ token: suite.appToken })}`);
    const annConnected = await ann.client.next();
    const bobConnected = await bob.client.next();
    expect(annConnected).toMatch(/^40\{"sid":"[\w-]+"\}$/);
    expect(bobConnected).toMatch(/^40\{"sid":"[\w-]+"\}$/);
    const annId = (JSON.parse(annConnected.slice(2)) as { sid: string }).sid;
    const bobId = (JSON.parse(bobConnected.slice(2)) as { sid: string }).sid;
    // Two ids: the open packet's Engine.IO sid is not the peer_id.
    expect(annId).not.toBe(ann.engineSid);
    expect(bobId).not.toBe(bob.engineSid);

    // A client ping is answered with a pong.
    bob.client.send("2");
    expect(await bob.client.next()).toBe("3");

    // auth-request with an ack: the event first, then the ack, nothing between.
    ann.client.send(eventFrame("auth-request", { token: suite.appToken, peerinfo: { name: "Ann" } }, 0));
    const annAccept = await ann.client.next();
    expect(annAccept).toMatch(/^42\["auth-accept",\{"token":"[^"]+"\}\]$/);
    const annSession = (JSON.parse(annAccept.slice(2)) as [string, { token: string }])[1].token;
    expect(await ann.client.next()).toBe(`430[${JSON.stringify({ ok: true, data: { token: annSession } })}]`);
    // Without an ack: the event alone.
    bob.client.send(eventFrame("auth-request", { token: suite.appToken, peerinfo: { name: "Bob" } }));
    const bobSession = (await bob.client.event<{ token: string }>("auth-accept")).token;

    // Ann creates the room and owns it.
    ann.client.send(eventFrame("room-create-request", { auth: annSession, room }));
    expect(await ann.client.event("room-create-accept")).toEqual({ room });

    // Bob asks to join; the owner sees the request. Nothing else answers a
    // pending request, so Bob asks for the ack to learn it was recorded.
    bob.client.send(eventFrame("room-join-request", { auth: bobSession, room, payload: { hello: "Ann" } }, 1));
    expect(await bob.client.ack(1)).toEqual({ ok: true, data: { room } });
    expect(await ann.client.event("room-join-request")).toEqual({
      room,
      peer_id: bobId,
      peerinfo: { name: "Bob" },
      payload: { hello: "Ann" },
    });

    // Ann accepts: Bob learns who is there (absent payload: null), Ann that Bob joined.
    ann.client.send(eventFrame("room-join-accept", { auth: annSession, room, peer_id: bobId, to: bobId }));
    expect(await bob.client.event("room-join-accept")).toEqual({
      room,
      peer_id: bobId,
      peers: [annId],
      peersinfo: { [annId]: { name: "Ann" } },
      payload: null,
    });
    expect(await ann.client.event("room-user-join")).toEqual({ room, peer_id: bobId, peerinfo: { name: "Bob" } });

    // The newcomer offers to every peer in `peers`; the others wait for its offer and answer.
    const offer = { type: "offer", sdp: "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n" };
    bob.client.send(
      eventFrame("relay-session-description", { auth: bobSession, room, to: annId, session_description: offer }),
    );
    expect(await ann.client.event("session-description")).toEqual({
      room,
      peer_id: bobId,
      session_description: offer,
      peerinfo: { name: "Bob" },
      payload: null,
    });
    const answer = { type: "answer", sdp: "v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\n" };
    ann.client.send(
      eventFrame(
        "relay-session-description",
        { auth: annSession, room, to: bobId, session_description: answer, payload: { muted: false } },
        2,
      ),
    );
    // A relay causes no event for its sender: the ack is its only answer.
    expect(await ann.client.ack(2)).toEqual({ ok: true, data: { room, to: bobId } });
    expect(await bob.client.event("session-description")).toEqual({
      room,
      peer_id: annId,
      session_description: answer,
      peerinfo: { name: "Ann" },
      payload: { muted: false },
    });

    // ICE candidates both ways, in the order they were sent.
    const candidates = [1, 2, 3].map((n) => ({
      candidate: `candidate:${n} 1 udp 2122260223 192.0.2.${n} 5000${n} typ host`,
      sdpMid: "0",
      sdpMLineIndex: 0,
    }));
    for (const ice_candidate of candidates) {
      bob.client.send(eventFrame("relay-ice-candidate", { auth: bobSession, room, to: annId, ice_candidate }));
    }
    ann.client.send(
      eventFrame("relay-ice-candidate", { auth: annSession, room, to: bobId, ice_candidate: candidates[0] }),
    );
    for (const ice_candidate of candidates) {
      expect(await ann.client.next()).toBe(
        eventFrame("ice-candidate", { room, peer_id: bobId, ice_candidate, peerinfo: { name: "Bob" }, payload: null }),
      );
    }
    expect(await bob.client.event("ice-candidate")).toEqual({
      room,
      peer_id: annId,
      ice_candidate: candidates[0],
      peerinfo: { name: "Ann" },
      payload: null,
    });

    // Both answer the server's pings (`2` → `3`) and stay connected.
    await Promise.all([
      ann.client.answeredPings(1, 5 * PING_INTERVAL_MS),
      bob.client.answeredPings(1, 5 * PING_INTERVAL_MS),
    ]);

    // Bob leaves the room: Ann is told; Bob's ack is his only answer.
    bob.client.send(eventFrame("room-leave-request", { auth: bobSession, room }, 3));
    expect(await bob.client.ack(3)).toEqual({ ok: true, data: { room } });
    expect(await ann.client.event("room-user-leave")).toEqual({ room, peer_id: bobId, peerinfo: { name: "Bob" } });

    // `41` leaves the namespace, and every room, without an answer: Ann was the
    // last member, so the room is gone and its name is free again.
    ann.client.send("41");
    // A socket's frames are handled in order: the pong says the `41` was handled.
    ann.client.send("2");
    expect(await ann.client.next()).toBe("3");
    bob.client.send(eventFrame("room-create-request", { auth: bobSession, room }));
    expect(await bob.client.event("room-create-accept")).toEqual({ room });
    bob.client.send("41");
    expect(ann.client.unread()).toEqual([]);
    expect(bob.client.unread()).toEqual([]);
  });

  it("an expired session token gets `unauthorized` ERR_TOKEN_EXPIRED; auth-request again on the same connection fixes it", async () => {
    const { client } = await open();
    client.send("40");
    const peerId = (JSON.parse((await client.next()).slice(2)) as { sid: string }).sid;
    client.send(eventFrame("auth-request", { token: suite.appToken, peerinfo: { name: "Cy" } }));
    await client.event("auth-accept");
    // What this server would have issued to this connection two hours ago, for one hour.
    const expired = await signSessionToken(
      LOCAL_TOKEN_SECRET,
      { app: APP, connection: peerId, lifetimeSeconds: 3600 },
      new Date(Date.now() - 2 * 3600_000),
    );

    client.send(eventFrame("room-create-request", { auth: expired, room: "doc-expiry" }, 7));
    // The refusal event, then the failed ack; nothing else happens.
    expect(await client.next()).toBe(
      eventFrame("unauthorized", { code: "ERR_TOKEN_EXPIRED", message: "Token is not valid" }),
    );
    expect(await client.next()).toBe(
      `437[${JSON.stringify({ ok: false, error: { code: "ERR_TOKEN_EXPIRED", message: "Token is not valid" } })}]`,
    );

    // auth-request again (with the same peerinfo: it replaces the old), then retry.
    client.send(eventFrame("auth-request", { token: suite.appToken, peerinfo: { name: "Cy" } }));
    const fresh = (await client.event<{ token: string }>("auth-accept")).token;
    client.send(eventFrame("room-create-request", { auth: fresh, room: "doc-expiry" }));
    expect(await client.event("room-create-accept")).toEqual({ room: "doc-expiry" });
  });

  it("GET /ice-servers answers a session token with the envelope the document shows", async () => {
    const { client } = await open();
    client.send("40");
    await client.next();
    client.send(eventFrame("auth-request", suite.appToken));
    const session = (await client.event<{ token: string }>("auth-accept")).token;
    const res = await fetch(`${suite.server.url}/ice-servers`, { headers: { Authorization: `Bearer ${session}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      status: 200,
      error: null,
      response: { iceServers: [], ttl: expect.any(Number) },
    });
    const refused = await fetch(`${suite.server.url}/ice-servers`);
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("ERR_UNAUTHORIZED");
  });
});
