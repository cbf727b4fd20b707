import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { io } from "socket.io-client";
import { describe, expect, it } from "vitest";
import { fetchAppToken } from "../support/app-token";
import { expectRelay, setUpRoom } from "../support/call";
import { eventFrame, FrameClient, socketUrl } from "../support/frame-client";
import { dropTcp, type TestPeer, transportOf } from "../support/peer";
import { RECOVERY_APP, useRecoverySuite } from "../support/recovery-suite";
import type { DevServerOptions } from "../support/wrangler-dev";

const APP = RECOVERY_APP;
const WINDOW_MS = 4_000;

const reconnected = (peer: TestPeer) => new Promise<void>((resolve) => peer.socket.once("connect", () => resolve()));

describe("connection state recovery with socket.io-client 4.8", () => {
  const { start: startWithToken, peer, clients, servers } = useRecoverySuite(WINDOW_MS);
  /** A server only, for a restart that needs no token of its own. */
  const start = async (options: DevServerOptions = {}) => (await startWithToken(options)).server;

  const candidate = (n: number) => ({ candidate: `candidate:${n} 1 udp 1 127.0.0.1 9 typ host`, sdpMLineIndex: 0 });

  it.each([
    ["a socket that named its room", true],
    ["a seed-style socket (its own object)", false],
  ])(
    "%s comes back after a dropped TCP connection: same id, room intact, missed relays in order",
    {
      timeout: 60_000,
    },
    async (_label, named) => {
      const { server, appToken } = await startWithToken();
      const room = `blip-${named}`;
      const alice = await peer(server, appToken, "alice", named ? { room } : {});
      const bob = await peer(server, appToken, "bob", { recovery: false });
      await setUpRoom(room, bob, alice);
      const id = alice.id;
      expect(alice.socket.recovered).toBe(false);

      // Twice: the second blip finds the session where the first one left it.
      for (const blip of [1, 2]) {
        const back = reconnected(alice);
        dropTcp(alice.socket);
        // While alice is away (or the server has not noticed yet), bob sends her three candidates.
        const sent = [1, 2, 3].map((n) => 10 * blip + n);
        for (const n of sent) {
          const ack = await bob.socket.emitWithAck("relay-ice-candidate", {
            auth: bob.session,
            room,
            to: id,
            ice_candidate: candidate(n),
          });
          expect(ack).toMatchObject({ ok: true });
        }
        await back;
        expect(alice.socket.id).toBe(id);
        expect(alice.socket.recovered).toBe(true);
        for (const n of sent)
          expect(await alice.next("ice-candidate")).toMatchObject({ peer_id: bob.id, ice_candidate: candidate(n) });
        expect(alice.pending().filter(([event]) => event === "ice-candidate")).toEqual([]);
      }
      // Nobody saw her leave; her session token still works, both ways.
      expect(bob.pending().filter(([event]) => event === "room-user-leave")).toEqual([]);
      await expectRelay(room, alice, bob, 100);
      await expectRelay(room, bob, alice, 101);
    },
  );

  it.each([
    ["a socket that named its room", true],
    ["a seed-style socket (its own object)", false],
  ])(
    "%s is taken over by a reconnect that presents its pid and session token while it is still open: the old socket is closed 1000, the new one is the same peer and gets what it missed, and later relays once",
    { timeout: 60_000 },
    async (_label, named) => {
      const { server, appToken } = await startWithToken();
      const room = `takeover-${named}`;
      const alice = await peer(server, appToken, "alice", named ? { room } : {});
      alice.socket.io.reconnection(false); // the raw client below is her reconnect
      const bob = await peer(server, appToken, "bob", { recovery: false });
      await setUpRoom(room, bob, alice);
      const { _pid: pid, _lastOffset: offset } = alice.socket as unknown as { _pid: string; _lastOffset: string };
      expect(offset).toEqual(expect.any(String));
      // Her old socket receives one more relay; the new one presents the offset from before it.
      await expectRelay(room, bob, alice, 1);
      const oldClosed = new Promise<[number, string]>((resolve) =>
        transportOf(alice.socket).once("close", (code, reason) => resolve([code, reason.toString()])),
      );

      // The reconnect, while the old socket is open and the server has seen nothing of a drop.
      const query = named ? `&app=${APP}&room=${room}&token=${appToken}&recovery=1` : "&recovery=1";
      const back = await FrameClient.open(socketUrl(server.url, query));
      clients.push(back);
      expect((await back.next()).charAt(0)).toBe("0");
      back.send(`40${JSON.stringify({ token: appToken, session: alice.session, pid, offset })}`);
      const answer = await back.next();
      expect(answer.startsWith("40{")).toBe(true);
      expect(JSON.parse(answer.slice(2))).toEqual({ sid: alice.id, pid });
      expect(await oldClosed).toEqual([1000, "session resumed on a new connection"]);
      const [name, missed, missedOffset] = JSON.parse((await back.next()).slice(2)) as [string, unknown, unknown];
      expect([name, missed, missedOffset]).toEqual([
        "ice-candidate",
        expect.objectContaining({ room, peer_id: bob.id, ice_candidate: candidate(1) }),
        expect.any(String),
      ]);

      // After the takeover, bob's relays reach the new socket, each once, and nothing reaches the old one.
      for (const n of [2, 3]) {
        const ack = await bob.socket.emitWithAck("relay-ice-candidate", {
          auth: bob.session,
          room,
          to: alice.id,
          ice_candidate: candidate(n),
        });
        expect(ack).toEqual({ ok: true, data: { room, to: alice.id } });
        expect(await back.event("ice-candidate")).toMatchObject({ peer_id: bob.id, ice_candidate: candidate(n) });
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(back.unread()).toEqual([]);
      expect(alice.pending()).toEqual([]);

      // It is alice: her session token works on the new socket, and bob never saw her leave.
      back.send(
        eventFrame("relay-ice-candidate", { auth: alice.session, room, to: bob.id, ice_candidate: candidate(4) }, 1),
      );
      expect(await back.ack(1)).toEqual({ ok: true, data: { room, to: bob.id } });
      expect(await bob.next("ice-candidate")).toMatchObject({ peer_id: alice.id, ice_candidate: candidate(4) });
      expect(bob.pending().filter(([event]) => event === "room-user-leave")).toEqual([]);
    },
  );

  it("lets a clean disconnect leave at once, and announces a dropped peer when its window ends, not later", {
    timeout: 60_000,
  }, async () => {
    const { server, appToken } = await startWithToken();
    const room = "goodbyes";
    const [owner, tidy, gone] = [
      await peer(server, appToken, "owner", { recovery: false }),
      await peer(server, appToken, "tidy"),
      await peer(server, appToken, "gone", { room }),
    ];
    await setUpRoom(room, owner, tidy, gone);

    tidy.socket.disconnect(); // DISCONNECT, then close: a goodbye
    expect(await owner.next("room-user-leave")).toMatchObject({ peer_id: tidy.id });

    gone.socket.io.reconnection(false);
    const droppedAt = Date.now();
    dropTcp(gone.socket);
    expect(await owner.next("room-user-leave", undefined, WINDOW_MS + 6_000)).toMatchObject({ peer_id: gone.id });
    const waited = Date.now() - droppedAt;
    expect(waited).toBeGreaterThanOrEqual(WINDOW_MS - 500);
    expect(waited).toBeLessThan(WINDOW_MS + 5_000); // the ping interval is 60 s: this is the window's own alarm
  });

  it("gives a made-up or another app's pid a fresh session, and the real owner of the pid still gets its own back", {
    timeout: 60_000,
  }, async () => {
    const { server, appToken } = await startWithToken();
    const otherToken = await fetchAppToken(server.url, "other-app");
    const room = "stolen";
    const victim = await peer(server, appToken, "victim", { room });
    await setUpRoom(room, victim);
    const pid = (victim.socket as unknown as { _pid: string })._pid;
    expect(pid).toMatch(/^[0-9a-f]{64}\.[\w-]{20}$/);

    const attempt = async (token: string, auth: Record<string, unknown>, query: Record<string, string>) => {
      const socket = io(server.url, {
        transports: ["websocket"],
        forceNew: true,
        reconnection: false,
        auth: { token, ...auth },
        query: { recovery: "1", ...query },
      });
      try {
        await new Promise<void>((resolve, reject) => {
          socket.once("connect", () => resolve());
          socket.once("connect_error", reject);
        });
        return { id: socket.id, recovered: socket.recovered };
      } finally {
        socket.close();
      }
    };
    const forged = `${pid.split(".")[0]}.${"A".repeat(20)}`;
    for (const made of [forged, "nonsense", `${"0".repeat(64)}.${"B".repeat(20)}`]) {
      const result = await attempt(appToken, { pid: made, offset: "1" }, {});
      expect(result.recovered).toBe(false);
      expect(result.id).not.toBe(victim.id);
    }
    // Another app's connection presenting the real pid.
    const foreign = await attempt(otherToken, { pid }, {});
    expect(foreign).toMatchObject({ recovered: false });
    expect(foreign.id).not.toBe(victim.id);

    // The victim's session is untouched: a real blip still recovers it.
    const back = reconnected(victim);
    dropTcp(victim.socket);
    await back;
    expect(victim.socket.recovered).toBe(true);
    expect(victim.socket.id).toBe(victim.id);
  });

  it("survives wrangler dev restarted on the same state: every peer comes back recovered with its room", {
    timeout: 120_000,
  }, async () => {
    const persistTo = await mkdtemp(join(tmpdir(), "edge-signaling-recovery-"));
    try {
      // A port of its own choosing (retried if taken under it); the restart reuses it.
      const { server: first, appToken } = await startWithToken({ persistTo, vars: { RECOVERY_WINDOW_MS: "30000" } });
      const port = first.port;
      const room = "deploy";
      const alice = await peer(first, appToken, "alice");
      const bob = await peer(first, appToken, "bob", { room });
      await setUpRoom(room, alice, bob);
      const ids = [alice.id, bob.id];

      await servers.pop()?.stop();
      const back = Promise.all([alice, bob].map(reconnected));
      await start({ port, persistTo, vars: { RECOVERY_WINDOW_MS: "30000" } });
      await back;
      expect([alice.socket.id, bob.socket.id]).toEqual(ids);
      expect([alice.socket.recovered, bob.socket.recovered]).toEqual([true, true]);
      // The room is theirs, with its owner, and their session tokens still work.
      await expectRelay(room, alice, bob, 1);
      await expectRelay(room, bob, alice, 2);
      const taken = await alice.socket.emitWithAck("room-create-request", { auth: alice.session, room });
      expect(taken).toMatchObject({ ok: false, error: { code: "ERR_ROOM_TAKEN" } });
    } finally {
      await rm(persistTo, { recursive: true, force: true });
    }
  });

  it("lets a dropped session go as soon as it misses more than it may keep: the room learns it left, the client starts afresh", {
    timeout: 60_000,
  }, async () => {
    const { server, appToken } = await startWithToken({
      vars: { RECOVERY_MAX_EVENTS: "5", RECOVERY_WINDOW_MS: "30000" },
    });
    const room = "overflow";
    const owner = await peer(server, appToken, "owner", { recovery: false });
    const away = await peer(server, appToken, "away", { room });
    await setUpRoom(room, owner, away);
    const id = away.id;
    away.socket.io.reconnection(false);
    const gone = new Promise((resolve) => away.socket.once("disconnect", resolve));
    dropTcp(away.socket);
    await gone;
    await new Promise((resolve) => setTimeout(resolve, 500)); // the server notices the drop
    const outcomes: string[] = [];
    for (let n = 0; n < 8; n++) {
      const ack = await owner.socket.emitWithAck("relay-ice-candidate", {
        auth: owner.session,
        room,
        to: id,
        ice_candidate: candidate(n),
      });
      outcomes.push(ack.ok ? "ok" : ack.error.code);
    }
    // Long before the 30 s window: the owner hears at once that the peer left.
    expect(await owner.next("room-user-leave")).toMatchObject({ peer_id: id });
    expect(outcomes.at(-1)).toBe("ERR_PEER_NOT_IN_ROOM");
    const back = reconnected(away);
    away.socket.connect();
    await back;
    expect(away.socket.recovered).toBe(false);
    expect(away.socket.id).not.toBe(id);
  });

  it("does not recover a connection whose app was not proven at CONNECT (no token in auth, no room in the query)", {
    timeout: 60_000,
  }, async () => {
    const { server, appToken } = await startWithToken();
    const room = "unproven";
    const owner = await peer(server, appToken, "owner", { recovery: false });
    const socket = io(server.url, {
      transports: ["websocket"],
      forceNew: true,
      reconnectionDelay: 200,
      query: { recovery: "1" },
    });
    try {
      await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
      const id = socket.id;
      const auth = (await socket.emitWithAck("auth-request", appToken)) as { data: { token: string } };
      await owner.socket.emitWithAck("room-create-request", { auth: owner.session, room });
      socket.emit("room-join-request", { auth: auth.data.token, room });
      await owner.next("room-join-request");
      await owner.socket.emitWithAck("room-join-accept", { auth: owner.session, room, peer_id: id });
      const back = new Promise<void>((resolve) => socket.once("connect", () => resolve()));
      dropTcp(socket);
      await back;
      expect(socket.recovered).toBe(false);
      expect(socket.id).not.toBe(id);
    } finally {
      socket.close();
    }
  });

  it("changes nothing on the wire for clients that do not opt in", async () => {
    const { server, appToken } = await startWithToken();
    const plain = await peer(server, appToken, "plain", { recovery: false });
    const args: unknown[][] = [];
    plain.socket.onAny((...received: unknown[]) => args.push(received));
    await plain.socket.emitWithAck("room-create-request", { auth: plain.session, room: "plain" });
    await plain.next("room-create-accept");
    expect(args).toEqual([["room-create-accept", { room: "plain" }]]);
    expect((plain.socket as unknown as { _pid?: string })._pid).toBeUndefined();
  });
});
