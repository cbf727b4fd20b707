import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { signSessionToken } from "../../src/auth/tokens";
import { fetchAppToken } from "../support/app-token";
import { type DevServer, startDevServer } from "../support/wrangler-dev";

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

/** One WebSocket speaking raw Engine.IO / Socket.IO frames, as the document's "Writing a client" shows them. */
class FrameClient {
  /** Frames received and not yet taken, in arrival order (pings are answered, not kept). */
  readonly #inbox: string[] = [];
  #wake: (() => void) | undefined;
  #pingsAnswered = 0;

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data, isBinary) => {
      const frame = isBinary ? "<binary>" : data.toString();
      // Engine.IO ping: answer with a pong at once, whatever else is going on.
      if (frame === "2") {
        ws.send("3");
        this.#pingsAnswered++;
      } else if (frame !== "6") {
        // "6" (noop) is the runtime's answer to a pong: ignored.
        this.#inbox.push(frame);
      }
      this.#wake?.();
    });
  }

  static async open(url: string): Promise<FrameClient> {
    const ws = new WebSocket(url);
    const client = new FrameClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
      ws.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
    return client;
  }

  send(frame: string): void {
    this.ws.send(frame);
  }

  /** The next frame in arrival order. */
  async next(): Promise<string> {
    return this.#take(() => (this.#inbox.length > 0 ? 0 : -1), "any frame");
  }

  /** The first frame, in arrival order, that is the event `name`: its data. Other frames stay. */
  async event<T = Record<string, unknown>>(name: string, where: (data: T) => boolean = () => true): Promise<T> {
    const prefix = `42${JSON.stringify([name]).slice(0, -1)},`;
    const index = () =>
      this.#inbox.findIndex((f) => f.startsWith(prefix) && where((JSON.parse(f.slice(2)) as [string, T])[1]));
    const frame = await this.#take(index, `event ${name}`);
    return (JSON.parse(frame.slice(2)) as [string, T])[1];
  }

  /** The ack `43<id>[outcome]` of request `id`: its outcome. Other frames stay. */
  async ack(id: number): Promise<unknown> {
    const frame = await this.#take(() => this.#inbox.findIndex((f) => f.startsWith(`43${id}[`)), `ack ${id}`);
    return (JSON.parse(frame.slice(2 + String(id).length)) as unknown[])[0];
  }

  /** Waits until the client has answered `count` server pings. */
  async answeredPings(count: number): Promise<void> {
    await expect.poll(() => this.#pingsAnswered, { timeout: 5 * PING_INTERVAL_MS }).toBeGreaterThanOrEqual(count);
  }

  /** Frames received and not taken: for a test's last look. */
  unread(): string[] {
    return [...this.#inbox];
  }

  close(): void {
    this.ws.close(1000);
  }

  async #take(find: () => number, what: string): Promise<string> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const at = find();
      if (at >= 0) return this.#inbox.splice(at, 1)[0] as string;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within 5 s; unread: ${JSON.stringify(this.#inbox)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }
}

/** `42<id>["event",{...}]`, or `42["event",{...}]` without an ack id. */
const eventFrame = (name: string, data: unknown, ackId?: number) => `42${ackId ?? ""}${JSON.stringify([name, data])}`;

describe("a raw WebSocket client written from docs/PROTOCOL.md alone", () => {
  let server: DevServer;
  let appToken: string;
  const clients: FrameClient[] = [];

  beforeAll(async () => {
    server = await startDevServer({ vars: { PING_INTERVAL_MS: String(PING_INTERVAL_MS) } });
    appToken = await fetchAppToken(server.url, APP);
  });
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });
  afterAll(async () => {
    await server?.stop();
  });

  /** Opens the WebSocket and reads the open packet: `0{...}`. */
  async function open(query = ""): Promise<{ client: FrameClient; engineSid: string }> {
    const client = await FrameClient.open(
      `${server.url.replace("http", "ws")}/socket.io/?EIO=4&transport=websocket${query}`,
    );
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
    const ann = await open(`&app=${APP}&room=${room}&token=${encodeURIComponent(appToken)}`);
    const bob = await open();

    // CONNECT: `40` or `40{"token":...}`, answered `40{"sid":...}`: the peer_id.
    ann.client.send("40");
    bob.client.send(`40${JSON.stringify({ token: appToken })}`);
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
    ann.client.send(eventFrame("auth-request", { token: appToken, peerinfo: { name: "Ann" } }, 0));
    const annAccept = await ann.client.next();
    expect(annAccept).toMatch(/^42\["auth-accept",\{"token":"[^"]+"\}\]$/);
    const annSession = (JSON.parse(annAccept.slice(2)) as [string, { token: string }])[1].token;
    expect(await ann.client.next()).toBe(`430[${JSON.stringify({ ok: true, data: { token: annSession } })}]`);
    // Without an ack: the event alone.
    bob.client.send(eventFrame("auth-request", { token: appToken, peerinfo: { name: "Bob" } }));
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
    await Promise.all([ann.client.answeredPings(1), bob.client.answeredPings(1)]);

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
    client.send(eventFrame("auth-request", { token: appToken, peerinfo: { name: "Cy" } }));
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
    client.send(eventFrame("auth-request", { token: appToken, peerinfo: { name: "Cy" } }));
    const fresh = (await client.event<{ token: string }>("auth-accept")).token;
    client.send(eventFrame("room-create-request", { auth: fresh, room: "doc-expiry" }));
    expect(await client.event("room-create-accept")).toEqual({ room: "doc-expiry" });
  });

  it("GET /ice-servers answers a session token with the envelope the document shows", async () => {
    const { client } = await open();
    client.send("40");
    await client.next();
    client.send(eventFrame("auth-request", appToken));
    const session = (await client.event<{ token: string }>("auth-accept")).token;
    const res = await fetch(`${server.url}/ice-servers`, { headers: { Authorization: `Bearer ${session}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      status: 200,
      error: null,
      response: { iceServers: [], ttl: expect.any(Number) },
    });
    const refused = await fetch(`${server.url}/ice-servers`);
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("ERR_UNAUTHORIZED");
  });
});
