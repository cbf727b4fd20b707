import { afterEach, describe, expect, it } from "vitest";
import { type Client, connect, type JoinRequest, type Peer, SignalingError } from "../../src/client";
import { type DevServerSuite, TEST_APP, useDevServer } from "../support/dev-server-suite";

/**
 * The client library from Node, signaling only (no WebRTC in Node: rooms track peers without
 * peer connections), against `wrangler dev`: what a bot or a test does with it.
 */

/** The JSON log lines (README, "Logs") the server printed so far, parsed. */
function logLines(suite: DevServerSuite): Array<Record<string, unknown>> {
  return suite.server
    .output()
    .split("\n")
    .filter((line) => line.startsWith("{") && line.includes('"log":'))
    .map((line) => JSON.parse(line));
}

const FAST_RECONNECT = { reconnectionDelay: 100, reconnectionDelayMax: 300 };

describe("the client library in Node (signaling only)", () => {
  const suite = useDevServer({ vars: { LOG_LIFECYCLE: "on", JOIN_REQUEST_TIMEOUT_MS: "2000" } });
  const clients: Client[] = [];
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });
  const open = async (name: string, room?: string) => {
    const client = await connect(suite.server.url, {
      token: suite.appToken,
      peerinfo: { name },
      socket: FAST_RECONNECT,
      ...(room !== undefined ? { room } : {}),
    });
    clients.push(client);
    return client;
  };

  it("takes two bots through a room: create, ask, accept, see each other, leave", async () => {
    const room = `bots-${Date.now()}`;
    const ann = await open("Ann", room);
    const bob = await open("Bob");
    const owned = await ann.createRoom(room);
    expect(owned.role).toBe("owner");
    const requests: JoinRequest[] = [];
    owned.on("join-request", (request) => {
      requests.push(request);
      void request.accept();
    });
    const annSees = owned.once("peer");
    const joined = await bob.joinRoom(room);
    expect(joined.role).toBe("member");
    expect(requests.map(({ peerId, info, returning }) => ({ peerId, info, returning }))).toEqual([
      { peerId: bob.id, info: { name: "Bob" }, returning: false },
    ]);
    const [annPeer] = (await annSees) as [Peer];
    expect(annPeer.id).toBe(bob.id);
    expect([...joined.peers.values()].map((peer) => [peer.id, peer.info])).toEqual([[ann.id, { name: "Ann" }]]);
    expect(annPeer.pc).toBeNull(); // no WebRTC in Node: signaling only

    const gone = owned.once("peer-left");
    await joined.leave();
    expect(joined.role).toBe("left");
    expect(((await gone) as [Peer])[0].id).toBe(bob.id);
    expect(owned.peers.size).toBe(0);
  });

  it("puts a client that knows its room in that room's object (handshake query), and one that does not in its own", async () => {
    const room = `placed-${Date.now()}`;
    const placed = await open("Placed", room);
    const seed = await open("Seed");
    await expect.poll(() => logLines(suite).filter((line) => line.log === "socket-open").length).toBeGreaterThan(1);
    const openLine = (id: string) => logLines(suite).find((line) => line.log === "socket-open" && line.socket === id);
    expect(openLine(placed.id)).toMatchObject({ placement: "room", object: `room:${TEST_APP}/${room}` });
    expect(openLine(seed.id)).toMatchObject({ placement: "own" });
  });

  it("rejects with the server's codes: a taken room, a missing room, a rejected request, a bad token", async () => {
    const room = `codes-${Date.now()}`;
    const ann = await open("Ann");
    const bob = await open("Bob");
    const owned = await ann.createRoom(room);
    await expect(bob.createRoom(room)).rejects.toMatchObject({ code: "ERR_ROOM_TAKEN", room });
    await expect(bob.joinRoom(`${room}-nowhere`)).rejects.toMatchObject({ code: "ERR_ROOM_NOT_FOUND" });
    owned.on("join-request", (request) => void request.reject());
    const refused = await bob.joinRoom(room).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(SignalingError);
    expect(refused).toMatchObject({ code: "ERR_JOIN_REJECTED", room });
    await expect(
      connect(suite.server.url, { token: `${suite.appToken}x`, requestTimeoutMs: 5_000 }),
    ).rejects.toMatchObject({ code: "ERR_TOKEN_BAD_SIGNATURE" });
  });

  it("rejects a join request the owner leaves unanswered with ERR_JOIN_TIMEOUT", async () => {
    const room = `timeout-${Date.now()}`;
    const ann = await open("Ann");
    const bob = await open("Bob");
    await ann.createRoom(room);
    await expect(bob.joinRoom(room)).rejects.toMatchObject({ code: "ERR_JOIN_TIMEOUT" });
  });

  it("keeps its id and rooms through a dropped connection (recovered), and relays still arrive", async () => {
    const room = `drop-${Date.now()}`;
    const ann = await open("Ann", room);
    const bob = await open("Bob");
    const owned = await ann.createRoom(room);
    owned.on("join-request", (request) => void request.accept());
    const joined = await bob.joinRoom(room);
    const bobId = bob.id;
    const states: string[] = [];
    bob.on("connection", (state, recovered) => states.push(`${state}${recovered ? " (recovered)" : ""}`));
    // Cut the transport without a goodbye, as a network would.
    (
      bob.signaling.socket.io.engine as unknown as { transport: { ws: { terminate(): void } } }
    ).transport.ws.terminate();
    await expect.poll(() => states, { timeout: 10_000 }).toEqual(["lost", "connected (recovered)"]);
    expect(bob.id).toBe(bobId);
    expect(joined.role).toBe("member");
    // The room still counts Bob in: a relay from Ann reaches him.
    const got = new Promise((resolve) => bob.signaling.socket.once("ice-candidate", resolve));
    ann.signaling.relay("relay-ice-candidate", { room, to: bobId, ice_candidate: { candidate: "after the drop" } });
    expect(await got).toMatchObject({ peer_id: ann.id, ice_candidate: { candidate: "after the drop" } });
    expect(owned.peers.has(bobId)).toBe(true);
  });

  it("sends relays asked for while the socket was down once the session is recovered, each exactly once", async () => {
    const room = `held-${Date.now()}`;
    const ann = await open("Ann");
    const bob = await open("Bob");
    const owned = await ann.createRoom(room);
    owned.on("join-request", (request) => void request.accept());
    await bob.joinRoom(room);
    const arrived: string[] = [];
    ann.signaling.socket.on("ice-candidate", ({ ice_candidate }) =>
      arrived.push((ice_candidate as { candidate: string }).candidate),
    );
    const back = bob.signaling.once("session");
    (
      bob.signaling.socket.io.engine as unknown as { transport: { ws: { terminate(): void } } }
    ).transport.ws.terminate();
    await expect.poll(() => bob.signaling.ready).toBe(false);
    for (const n of [1, 2, 3])
      bob.signaling.relay("relay-ice-candidate", { room, to: ann.id, ice_candidate: { candidate: `held ${n}` } });
    expect((await back)[0]).toMatchObject({ recovered: true });
    bob.signaling.relay("relay-ice-candidate", { room, to: ann.id, ice_candidate: { candidate: "after" } });
    await expect.poll(() => arrived.length).toBe(4);
    await new Promise((resolve) => setTimeout(resolve, 500)); // nothing more comes
    expect(arrived).toEqual(["held 1", "held 2", "held 3", "after"]);
  });
});

describe("the client library with short-lived session tokens", () => {
  const suite = useDevServer({ vars: { TOKEN_LIFETIME: "3" } });
  const clients: Client[] = [];
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });

  it("renews its session token before it expires: relays and requests still pass after twice its lifetime", {
    timeout: 20_000,
  }, async () => {
    const room = `renew-${Date.now()}`;
    const [ann, bob] = await Promise.all(
      ["Ann", "Bob"].map((name) => connect(suite.server.url, { token: suite.appToken, peerinfo: { name } })),
    );
    clients.push(ann as Client, bob as Client);
    const owned = await (ann as Client).createRoom(room);
    owned.on("join-request", (request) => void request.accept());
    const joined = await (bob as Client).joinRoom(room);
    const refusals: string[] = [];
    for (const client of [ann, bob] as Client[])
      client.signaling.socket.on("unauthorized", ({ code }) => refusals.push(code));
    await new Promise((resolve) => setTimeout(resolve, 6_500));
    const got = new Promise((resolve) => (bob as Client).signaling.socket.once("ice-candidate", resolve));
    (ann as Client).signaling.relay("relay-ice-candidate", {
      room,
      to: (bob as Client).id,
      ice_candidate: { candidate: "late" },
    });
    expect(await got).toMatchObject({ ice_candidate: { candidate: "late" } });
    const gone = owned.once("peer-left");
    await joined.leave();
    await gone;
    expect(refusals).toEqual([]);
  });
});

describe("the served bundle", () => {
  const suite = useDevServer();
  it("serves /client.js as a JavaScript module that exports connect", async () => {
    const res = await fetch(`${suite.server.url}/client.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/javascript/);
    const source = await res.text();
    expect(source).toMatch(/export\s*\{[^}]*\bconnect\b/);
    // socket.io-client is inside: the page needs no other script.
    expect(source).toContain("websocket");
  });
});
