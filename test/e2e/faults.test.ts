import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { fetchAppToken } from "../support/app-token";
import { expectRelay, setUpRoom } from "../support/call";
import { connectPeer, type TestPeer } from "../support/peer";
import { type DevServer, startDevServer } from "../support/wrangler-dev";

const APP = "demo-chat-test";

describe("faults", () => {
  const peers: TestPeer[] = [];
  const servers: DevServer[] = [];
  afterEach(async () => {
    for (const peer of peers.splice(0)) peer.close();
    for (const server of servers.splice(0)) await server.stop();
  });

  async function start(options: Parameters<typeof startDevServer>[0]) {
    const server = await startDevServer(options);
    servers.push(server);
    return server;
  }

  it("after a runtime restart, clients reconnect, re-authenticate, and the room comes back without ghosts", {
    timeout: 90_000,
  }, async () => {
    const persistTo = await mkdtemp(join(tmpdir(), "edge-signaling-restart-"));
    const vars = { PING_INTERVAL_MS: "1000", PING_TIMEOUT_MS: "1000" };
    try {
      // A port of its own choosing (retried if taken under it); the restart reuses it.
      const first = await start({ persistTo, vars });
      const port = first.port;
      const appToken = await fetchAppToken(first.url, APP);
      const join = (name: string, room?: string) =>
        connectPeer({
          url: first.url,
          appToken,
          peerinfo: { name },
          reconnection: true,
          ...(room ? { query: { app: APP, room } } : {}),
        });
      const room = "survives-restart";
      const alice = await join("alice");
      const bob = await join("bob", room);
      peers.push(alice, bob);
      await setUpRoom(room, alice, bob);
      const [oldAlice, oldBob] = [alice.id, bob.id];

      // Stop the runtime and start it again on the same port and the same persisted state.
      await servers.pop()?.stop();
      const reconnected = Promise.all([alice, bob].map((p) => new Promise((r) => p.socket.io.once("reconnect", r))));
      await start({ port, persistTo, vars });
      await reconnected;
      await alice.authenticate();
      await bob.authenticate();
      expect([alice.id, bob.id]).not.toContain(oldAlice);
      expect([alice.id, bob.id]).not.toContain(oldBob);

      // The old members are ghosts: the room lets them go, and is free again at once.
      const created = await alice.socket.emitWithAck("room-create-request", { auth: alice.session, room });
      expect(created).toEqual({ ok: true, data: { room } });
      bob.socket.emit("room-join-request", { auth: bob.session, room });
      await alice.next("room-join-request", (d) => d.peer_id === bob.id);
      alice.socket.emit("room-join-accept", { auth: alice.session, room, peer_id: bob.id });
      const welcome = await bob.next("room-join-accept");
      expect(welcome.peers).toEqual([alice.id]);
      await expectRelay(room, alice, bob);
      await expectRelay(room, bob, alice, 2);
    } finally {
      await rm(persistTo, { recursive: true, force: true });
    }
  });

  it("a room's state and its sockets' identities survive the object being evicted while they hibernate", {
    timeout: 90_000,
  }, async () => {
    // Default heartbeats (one alarm a minute), so the idle object is evicted; LOG_WAKES shows when it restarts.
    const server = await start({ vars: { LOG_WAKES: "true" } });
    const appToken = await fetchAppToken(server.url, APP);
    const room = "hibernates";
    const alice = await connectPeer({
      url: server.url,
      appToken,
      peerinfo: { name: "alice" },
      query: { app: APP, room },
    });
    const bob = await connectPeer({ url: server.url, appToken, peerinfo: { name: "bob" } });
    peers.push(alice, bob);
    await setUpRoom(room, alice, bob);

    const starts = () =>
      server
        .output()
        .split("\n")
        .filter((line) => line.includes(`"log":"object-start"`) && line.includes(`"object":"room:${APP}/${room}"`))
        .length;
    // wrangler dev prints the runtime's log lines a moment after they happen.
    await expect.poll(starts, { timeout: 5000 }).toBeGreaterThanOrEqual(1);
    const before = starts();
    // Idle past the ~15 s after which the local runtime evicts an object that has no
    // alarm due and no traffic; its hibernated WebSockets stay open.
    await new Promise((r) => setTimeout(r, 25_000));
    // The first relay wakes the room's object: a new instance, rebuilt from storage and attachments.
    await expectRelay(room, alice, bob);
    await expectRelay(room, bob, alice, 2);
    expect(starts()).toBeGreaterThan(before);
    expect(alice.socket.connected && bob.socket.connected).toBe(true);
  });
});
