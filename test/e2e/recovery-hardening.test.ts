import { io } from "socket.io-client";
import { describe, expect, it } from "vitest";
import { expectRelay, setUpRoom } from "../support/call";
import { FrameClient, socketUrl } from "../support/frame-client";
import { comeBack, connectPeer, dropTcp, reconnected, type TestPeer } from "../support/peer";
import { RECOVERY_APP, useRecoverySuite } from "../support/recovery-suite";
import type { DevServer } from "../support/wrangler-dev";

const APP = RECOVERY_APP;
/** Past the ~10 s after which an object whose sockets are all quiet hibernates under wrangler dev. */
const PAST_HIBERNATION_MS = 13_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const candidate = (n: number) => ({ candidate: `candidate:${n} 1 udp 1 127.0.0.1 9 typ host`, sdpMLineIndex: 0 });
const pidOf = (peer: TestPeer) => (peer.socket as unknown as { _pid: string })._pid;
const offsetOf = (peer: TestPeer) => (peer.socket as unknown as { _lastOffset: string })._lastOffset;

/**
 * Connection state recovery against what real calls and attackers do (issue
 * #23): sockets quiet long enough for their object to hibernate, leaked pids,
 * claims that cannot be met, claims in parallel, strangers filling a room's
 * object, and the per-object bound of kept sessions.
 */
describe("recovery that survives a quiet minute, a leaked id and a crowd", () => {
  const { start: startWith, peer, peers, clients } = useRecoverySuite(10_000);
  const start = (vars: Record<string, string> = {}) => startWith({ vars });

  /** A raw reconnect presenting `auth` in its CONNECT: the sid it was answered with. */
  async function claim(server: DevServer, query: string, auth: Record<string, unknown>) {
    const client = await FrameClient.open(socketUrl(server.url, `&recovery=1${query}`));
    clients.push(client);
    expect((await client.next()).charAt(0)).toBe("0");
    client.send(`40${JSON.stringify(auth)}`);
    const answer = await client.next();
    expect(answer.startsWith("40{")).toBe(true);
    return { client, sid: (JSON.parse(answer.slice(2)) as { sid: string }).sid };
  }

  it("keeps a session quiet past its object's hibernation, twice, in both placements", {
    timeout: 120_000,
  }, async () => {
    const { server, appToken } = await start({ LOG_WAKES: "true" });
    const bob = await peer(server, appToken, "bob", { recovery: false });
    const bobDisconnects: string[] = [];
    bob.socket.on("disconnect", (reason) => bobDisconnects.push(reason));
    const named = await peer(server, appToken, "named", { room: "quiet" });
    const seed = await peer(server, appToken, "seed");
    await setUpRoom("quiet", bob, named, seed);
    await expectRelay("quiet", bob, named, 1);
    await expectRelay("quiet", bob, seed, 2);

    for (const round of [1, 2]) {
      const startsBefore = server.output().match(/"log":"object-start"/g)?.length ?? 0;
      await sleep(PAST_HIBERNATION_MS);
      const back = [reconnected(named), reconnected(seed)];
      dropTcp(named.socket);
      dropTcp(seed.socket);
      for (const alice of [named, seed]) {
        for (const n of [10 * round + 1, 10 * round + 2]) {
          const ack = await bob.socket.emitWithAck("relay-ice-candidate", {
            auth: bob.session,
            room: "quiet",
            to: alice.id,
            ice_candidate: candidate(n),
          });
          const lines = server
            .output()
            .split("\n")
            .filter((line) => /"log":"(socket-close|session-[a-z-]+|peer-gone|socket-evicted)"/.test(line));
          const context = `round ${round}, to ${alice === named ? "named" : "seed"}: ${JSON.stringify(ack)}; bob disconnects: ${bobDisconnects}; ${lines.join("\n")}`;
          expect(ack, context).toMatchObject({ ok: true });
        }
      }
      await Promise.all(back);
      // The objects holding them had hibernated: a fresh instance handled the drop.
      const startsAfter = server.output().match(/"log":"object-start"/g)?.length ?? 0;
      expect(startsAfter).toBeGreaterThan(startsBefore);
      for (const alice of [named, seed]) {
        expect([alice.socket.id, alice.socket.recovered]).toEqual([alice.id, true]);
        for (const n of [10 * round + 1, 10 * round + 2]) {
          expect(await alice.next("ice-candidate")).toMatchObject({ peer_id: bob.id, ice_candidate: candidate(n) });
        }
      }
      expect(bob.pending().filter(([event]) => event === "room-user-leave")).toEqual([]);
    }
    await expectRelay("quiet", named, bob, 100);
    await expectRelay("quiet", seed, bob, 101);
  });

  it.each([
    ["a socket that named its room", true],
    ["a seed-style socket", false],
  ])("gives a leaked pid nothing of %s while its client is there", { timeout: 60_000 }, async (_label, named) => {
    const { server, appToken } = await start();
    const room = `leak-${named}`;
    const bob = await peer(server, appToken, "bob", { recovery: false });
    const victim = await peer(server, appToken, "victim", named ? { room } : {});
    await setUpRoom(room, bob, victim);
    let disconnects = 0;
    victim.socket.on("disconnect", () => disconnects++);
    const pid = pidOf(victim);
    const offset = offsetOf(victim);

    // Only ?app= in the query and no token proves nothing: not even a claim is made.
    const bare = await claim(server, `&app=${APP}`, { pid, offset });
    expect(bare.sid).not.toBe(victim.id);
    // The app token, which every client app ships, does not take over a socket that answers pings.
    for (let attempt = 0; attempt < 3; attempt++) {
      const query = named ? `&app=${APP}&room=${room}&token=${appToken}` : "";
      const withToken = await claim(server, query, { token: appToken, pid, offset });
      expect(withToken.sid).not.toBe(victim.id);
    }
    expect(disconnects).toBe(0);
    await expectRelay(room, bob, victim, 1);
    await expectRelay(room, victim, bob, 2);
    expect(bob.pending().filter(([event]) => event === "room-user-leave")).toEqual([]);
  });

  it("lets a claim with an offset it cannot honour take nothing and end nothing, connected or dropped", {
    timeout: 60_000,
  }, async () => {
    const { server, appToken } = await start();
    const bob = await peer(server, appToken, "bob", { recovery: false });
    const victim = await peer(server, appToken, "victim", { room: "offsets" });
    await setUpRoom("offsets", bob, victim);
    const pid = pidOf(victim);
    const query = `&app=${APP}&room=offsets&token=${appToken}`;

    // Connected, with its own session token: the offset still has to be one it was given.
    const live = await claim(server, query, { token: appToken, session: victim.session, pid, offset: "999999" });
    expect(live.sid).not.toBe(victim.id);
    await expectRelay("offsets", bob, victim, 1);

    // Dropped: a bogus offset gets a fresh session; the real client then gets its own back.
    victim.socket.io.reconnection(false);
    dropTcp(victim.socket);
    await sleep(300);
    const dropped = await claim(server, query, { token: appToken, pid, offset: "999999" });
    expect(dropped.sid).not.toBe(victim.id);
    await comeBack(victim);
    expect([victim.socket.id, victim.socket.recovered]).toEqual([victim.id, true]);
    await expectRelay("offsets", bob, victim, 2);
    expect(bob.pending().filter(([event]) => event === "room-user-leave")).toEqual([]);
  });

  it("meets parallel claims of one pid one at a time: one wins, the other starts afresh, nothing is left behind", {
    timeout: 60_000,
  }, async () => {
    const { server, appToken } = await start();
    const bob = await peer(server, appToken, "bob", { recovery: false });
    const victim = await peer(server, appToken, "victim", { room: "race" });
    await setUpRoom("race", bob, victim);
    const pid = pidOf(victim);
    const offset = offsetOf(victim);
    victim.socket.io.reconnection(false);
    dropTcp(victim.socket);
    await sleep(300);

    const query = `&app=${APP}&room=race&token=${appToken}`;
    const [a, b] = await Promise.all([
      claim(server, query, { token: appToken, pid, offset }),
      claim(server, query, { token: appToken, pid, offset }),
    ]);
    const winners = [a, b].filter((c) => c.sid === victim.id);
    expect(winners).toHaveLength(1);
    const winner = winners[0] as (typeof winners)[number];
    // The room reaches the winner, once; bob never saw the victim leave.
    const ack = await bob.socket.emitWithAck("relay-ice-candidate", {
      auth: bob.session,
      room: "race",
      to: victim.id,
      ice_candidate: candidate(7),
    });
    expect(ack).toMatchObject({ ok: true });
    expect(await winner.client.event("ice-candidate")).toMatchObject({ ice_candidate: candidate(7) });
    await sleep(300);
    expect([a, b].flatMap((c) => c.client.unread()).filter((frame) => frame.includes("ice-candidate"))).toEqual([]);
    expect(bob.pending().filter(([event]) => event === "room-user-leave")).toEqual([]);
  });

  it("lets a member back into a room's object that strangers with the app token filled", {
    timeout: 60_000,
  }, async () => {
    const { server, appToken } = await start({ MAX_SOCKETS_PER_OBJECT: "6" });
    const bob = await peer(server, appToken, "bob", { room: "crowded", recovery: false });
    const alice = await peer(server, appToken, "alice", { room: "crowded" });
    await setUpRoom("crowded", bob, alice);
    alice.socket.io.reconnection(false);
    dropTcp(alice.socket);
    await sleep(300);
    // While she is away, strangers take every slot but bob's; they join nothing.
    const strangers = await Promise.all(
      [1, 2, 3, 4, 5].map(async () => {
        const client = await FrameClient.open(socketUrl(server.url, `&app=${APP}&room=crowded&token=${appToken}`));
        clients.push(client);
        return client;
      }),
    );
    await comeBack(alice);
    expect([alice.socket.id, alice.socket.recovered]).toEqual([alice.id, true]);
    // A stranger gave way: closed 4001 (its close frame arrived; ws still waits for the TCP end).
    const closeCodes = () => strangers.map((stranger) => (stranger.ws as unknown as { _closeCode: number })._closeCode);
    await expect.poll(closeCodes, { timeout: 5_000 }).toContain(4001);
    expect(closeCodes().filter((code) => code === 4001)).toHaveLength(1);
    await expectRelay("crowded", bob, alice, 1);
    expect(bob.pending().filter(([event]) => event === "room-user-leave")).toEqual([]);
  });

  it("keeps at most RECOVERY_MAX_SESSIONS dropped sessions per object: past it, a drop is a leave at once", {
    timeout: 60_000,
  }, async () => {
    const { server, appToken } = await start({ RECOVERY_MAX_SESSIONS: "1", RECOVERY_WINDOW_MS: "20000" });
    const bob = await peer(server, appToken, "bob", { room: "bounded", recovery: false });
    const first = await peer(server, appToken, "first", { room: "bounded" });
    const second = await peer(server, appToken, "second", { room: "bounded" });
    await setUpRoom("bounded", bob, first, second);
    for (const peerOf of [first, second]) peerOf.socket.io.reconnection(false);
    dropTcp(first.socket);
    await sleep(500);
    dropTcp(second.socket);
    // The second is not kept: its room hears it left now, not when a 20 s window ends.
    expect(await bob.next("room-user-leave", undefined, 5_000)).toMatchObject({ peer_id: second.id });
    expect(bob.pending().filter(([event]) => event === "room-user-leave")).toEqual([]);
  });

  it.each([
    ["a socket that named its room", true],
    ["a seed-style socket", false],
  ])(
    "keeps join requests in the room while %s that owns it is away, and tells it when it is back",
    {
      timeout: 60_000,
    },
    async (_label, named) => {
      // A budget of 4 KB: three requests with 2 KB of peerinfo each would have ended the owner's session.
      const { server, appToken } = await start({ RECOVERY_MAX_BYTES: "4096" });
      const room = `notices-${named}`;
      const owner = await peer(server, appToken, "owner", named ? { room } : {});
      expect(await owner.socket.emitWithAck("room-create-request", { auth: owner.session, room })).toMatchObject({
        ok: true,
      });
      owner.socket.io.reconnection(false);
      dropTcp(owner.socket);
      await sleep(300);
      const candidates = await Promise.all(
        [1, 2, 3].map((n) =>
          connectPeer({ url: server.url, appToken, peerinfo: { name: `c${n}`, bio: "x".repeat(2_000) } }),
        ),
      );
      peers.push(...candidates);
      for (const candidateOf of candidates) {
        expect(
          await candidateOf.socket.emitWithAck("room-join-request", { auth: candidateOf.session, room }),
        ).toMatchObject({ ok: true });
      }
      await comeBack(owner);
      expect([owner.socket.id, owner.socket.recovered]).toEqual([owner.id, true]);
      for (const candidateOf of candidates) {
        expect(await owner.next("room-join-request", (d) => d.peer_id === candidateOf.id)).toMatchObject({ room });
      }
      // Each once, and they can be answered.
      await sleep(300);
      expect(owner.pending().filter(([event]) => event === "room-join-request")).toEqual([]);
      const accepted = await owner.socket.emitWithAck("room-join-accept", {
        auth: owner.session,
        room,
        peer_id: candidates[0]?.id as string,
      });
      expect(accepted).toMatchObject({ ok: true });
      await candidates[0]?.next("room-join-accept");
    },
  );

  it("stores no session for a recoverable socket that never proves its app", { timeout: 30_000 }, async () => {
    const { server } = await start();
    const socket = io(server.url, {
      transports: ["websocket"],
      forceNew: true,
      reconnection: false,
      query: { recovery: "1" },
    });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.once("connect_error", reject);
    });
    const pid = (socket as unknown as { _pid: string })._pid;
    expect(pid).toMatch(/^[0-9a-f]{64}\./);
    (socket.io.engine.transport as unknown as { ws: { _socket: { destroy(): void } } }).ws._socket.destroy();
    await sleep(500);
    // Nothing was kept for it: no session-kept line, and its pid starts a fresh session.
    expect(server.output()).not.toMatch(/"log":"session-kept"/);
    socket.close();
  });
});
