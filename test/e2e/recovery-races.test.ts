import { afterEach, describe, expect, it } from "vitest";
import { fetchAppToken } from "../support/app-token";
import { setUpRoom } from "../support/call";
import { FrameClient, socketUrl } from "../support/frame-client";
import { connectPeer, dropTcp, type TestPeer } from "../support/peer";
import { type DevServer, startDevServer } from "../support/wrangler-dev";

const APP = "demo-chat-test";
const reconnected = (peer: TestPeer) => new Promise<void>((resolve) => peer.socket.once("connect", () => resolve()));

/**
 * A session handed from one object to another while its room is sending it
 * events (issue #23: a takeover racing room-join-accept lost room-user-join).
 */
describe("recovery racing the room's events", () => {
  const peers: TestPeer[] = [];
  const servers: DevServer[] = [];
  afterEach(async () => {
    for (const peer of peers.splice(0)) peer.close();
    for (const server of servers.splice(0)) await server.stop();
  });

  it("loses no room-user-join when a seed-style member reconnects while the owner admits someone", {
    timeout: 90_000,
  }, async () => {
    const server = await startDevServer({ vars: { RECOVERY_WINDOW_MS: "10000" } });
    servers.push(server);
    const appToken = await fetchAppToken(server.url, APP);
    const connect = async (name: string, query: Record<string, string> = {}) => {
      const peer = await connectPeer({ url: server.url, appToken, peerinfo: { name }, reconnection: true, query });
      peers.push(peer);
      return peer;
    };
    const owner = await connect("owner");
    const alice = await connect("alice", { recovery: "1" });
    await setUpRoom("race", owner, alice);

    for (let round = 1; round <= 6; round++) {
      const newcomer = await connect(`newcomer-${round}`);
      newcomer.socket.emit("room-join-request", { auth: newcomer.session, room: "race" });
      await owner.next("room-join-request", (d) => d.peer_id === newcomer.id);
      // Alice's connection drops and comes back (a new object takes her session over) while the owner accepts.
      const back = reconnected(alice);
      dropTcp(alice.socket);
      const accepted = owner.socket.emitWithAck("room-join-accept", {
        auth: owner.session,
        room: "race",
        peer_id: newcomer.id,
      });
      expect(await accepted).toMatchObject({ ok: true });
      await back;
      expect([alice.socket.id, alice.socket.recovered]).toEqual([alice.id, true]);
      expect(await alice.next("room-user-join", (d) => d.peer_id === newcomer.id, 5_000)).toMatchObject({
        room: "race",
      });
      await newcomer.next("room-join-accept");
    }
    expect(owner.pending().filter(([event]) => event === "room-user-leave")).toEqual([]);
    expect(alice.pending().filter(([event]) => event === "room-user-join")).toEqual([]);
  });

  it.each([
    ["a socket that named its room", true],
    ["a seed-style socket", false],
  ])(
    "loses no room-user-join when %s is taken over while the owner admits someone",
    {
      timeout: 90_000,
    },
    async (_label, named) => {
      const server = await startDevServer({ vars: { RECOVERY_WINDOW_MS: "10000" } });
      servers.push(server);
      const appToken = await fetchAppToken(server.url, APP);
      const room = `takeover-${named}`;
      const connect = async (name: string, query: Record<string, string> = {}) => {
        const peer = await connectPeer({ url: server.url, appToken, peerinfo: { name }, query });
        peers.push(peer);
        return peer;
      };
      const owner = await connect("owner");
      const alice = await connect("alice", { recovery: "1", ...(named ? { app: APP, room } : {}) });
      await setUpRoom(room, owner, alice);
      const pid = (alice.socket as unknown as { _pid: string })._pid;
      let offset = (alice.socket as unknown as { _lastOffset: string })._lastOffset;
      const clients: FrameClient[] = [];
      try {
        for (let round = 1; round <= 6; round++) {
          const newcomer = await connect(`newcomer-${round}`);
          newcomer.socket.emit("room-join-request", { auth: newcomer.session, room });
          await owner.next("room-join-request", (d) => d.peer_id === newcomer.id);
          // Alice comes back on a new connection, with her session token, while the owner accepts.
          const query = named ? `&app=${APP}&room=${room}&token=${appToken}&recovery=1` : "&recovery=1";
          const next = await FrameClient.open(socketUrl(server.url, query));
          clients.push(next);
          await next.next();
          next.send(`40${JSON.stringify({ token: appToken, session: alice.session, pid, offset })}`);
          const accepted = owner.socket.emitWithAck("room-join-accept", {
            auth: owner.session,
            room,
            peer_id: newcomer.id,
          });
          expect(await accepted).toMatchObject({ ok: true });
          const answer = await next.next();
          expect(JSON.parse(answer.slice(2))).toMatchObject({ sid: alice.id });
          // Her room-user-join for the newcomer arrives once, in what she missed or after.
          const joins = () =>
            next
              .unread()
              .filter((f) => f.startsWith('42["room-user-join"') && f.includes(`"peer_id":"${newcomer.id}"`));
          await expect.poll(() => joins().length, { timeout: 5_000 }).toBeGreaterThan(0);
          await new Promise((resolve) => setTimeout(resolve, 200));
          expect(joins()).toHaveLength(1);
          // The offset she holds now: the last argument of the last event she received.
          const offsets = next
            .unread()
            .filter((f) => f.startsWith("42["))
            .map((f) => Number((JSON.parse(f.slice(2)) as unknown[]).at(-1)));
          offset = String(Math.max(Number(offset), ...offsets));
          await newcomer.next("room-join-accept");
        }
      } finally {
        for (const client of clients) client.close();
      }
      expect(owner.pending().filter(([event]) => event === "room-user-leave")).toEqual([]);
    },
  );
});
