import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ObjectRpc } from "../../src/durable/mesh/object-rpc";
import { joinRequestCandidate, MAX_OWED_NOTES, owedNotice, owedOf } from "../../src/durable/recovery/owed-notices";
import { SessionClaims } from "../../src/durable/recovery/session-claims";
import { type KeeperHost, SessionKeeper } from "../../src/durable/recovery/session-keeper";
import { QUIET_BEFORE_WRITE_MS, SessionLogs } from "../../src/durable/recovery/session-logs";
import type { SessionStore } from "../../src/durable/recovery/session-store";
import { type ConnectionState, newConnection } from "../../src/signaling/connection-state";
import { LogLines } from "../support/log-lines";
import { MemorySessionStore } from "../support/memory-session-store";

const SELF = "a".repeat(64);
const PID = `${SELF}.${"P".repeat(20)}`;
const limits = { maxEvents: 8, maxBytes: 10_000 };

function session(overrides: Partial<ConnectionState> = {}): ConnectionState {
  return {
    ...newConnection({ engineId: "e1", socketId: "alice", openedAt: 0, app: "demo" }),
    connected: true,
    authenticated: true,
    rooms: ["lobby"],
    recovery: true,
    pid: PID,
    ...overrides,
  };
}

/** A frame the size of `n` characters, to fill a budget. */
const event = (n: number, size = 20) => `42["ice-candidate",{"n":${n},"pad":"${"x".repeat(size)}"}]`;

/**
 * A keeper and its claims over an in-memory store, with the sockets held here (`held`: socket
 * id -> tag), a probe that answers as `answers` says, and session tokens
 * valid when they equal "good-token".
 */
function keeperWith(options: { held?: Map<string, string>; answers?: boolean; maxSessions?: number } = {}) {
  const store = new MemorySessionStore();
  const storeFn = () => store as unknown as SessionStore;
  const logs = new SessionLogs(storeFn, limits);
  const held = options.held ?? new Map<string, string>();
  const closedHere: string[] = [];
  const adopted: Array<[string, string]> = [];
  const updated: ConnectionState[] = [];
  const probes: string[] = [];
  const wakes: number[] = [];
  const log = new LogLines(undefined, () => "test");
  const lines = log.lines;
  const heldSockets = {
    isHeld: (socketId: string) => held.has(socketId),
    tagHolding: (socketId: string) => held.get(socketId),
    closeHere: (tag: string) => void closedHere.push(tag),
    update: (_ws: WebSocket, _tag: string, change: (current: ConnectionState) => ConnectionState) => {
      const next = change(newConnection({ engineId: "e2", socketId: "fresh", openedAt: 1, app: null }));
      updated.push(next);
      return next;
    },
    adopt: (socketId: string, tag: string) => {
      adopted.push([socketId, tag]);
      held.set(socketId, tag);
    },
  };
  const stubs = {
    get: (): Pick<ObjectRpc, "claimSession" | "sessionEnded"> => ({
      claimSession: async () => null,
      sessionEnded: async () => {},
    }),
  };
  const alarms = { wakeBy: async (at: number) => void wakes.push(at) };
  const keeperHost: KeeperHost = {
    self: SELF,
    store: storeFn,
    logs,
    window: 30_000,
    limits,
    objectBounds: { maxSessions: options.maxSessions ?? 64, maxBytes: 1_000_000 },
    held: heldSockets,
    stubs,
    alarms,
    log,
  };
  const keeper = new SessionKeeper(keeperHost);
  const claims = new SessionClaims({
    self: SELF,
    store: storeFn,
    logs,
    keeper,
    window: 30_000,
    limits,
    held: heldSockets,
    probe: {
      answers: async (socketId) => {
        probes.push(socketId);
        return options.answers ?? true;
      },
    },
    probeMs: 10,
    verifySession: async (token) => token === "good-token",
    stubs,
    alarms,
    log,
  });
  return { keeper, claims, logs, store, held, closedHere, adopted, updated, probes, wakes, lines };
}

/** A connected session of alice that was sent `count` events, then dropped. */
async function droppedAfter(object: ReturnType<typeof keeperWith>, count: number, size = 20) {
  const state = session();
  object.logs.changed(null, state);
  for (let n = 1; n <= count; n++) object.logs.record("alice", event(n, size));
  expect(await object.keeper.detach(state, Date.now())).toBe(true);
  return state;
}

describe("the session logs of connected sessions", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("store nothing for a socket that has not proven its app, and start storing once it has", () => {
    const object = keeperWith();
    object.logs.changed(null, session({ app: null }));
    expect(object.store.sessions.size).toBe(0);
    expect(object.logs.record("alice", event(1))).toMatch(/,"1"\]$/);
    object.logs.changed(session({ app: null }), session());
    expect(object.store.byPid(PID)?.state.app).toBe("demo");
  });

  it("write a session's log once it is quiet, so a fresh instance (after hibernation) reads it back", () => {
    const object = keeperWith();
    object.logs.changed(null, session());
    object.logs.record("alice", event(1));
    vi.advanceTimersByTime(QUIET_BEFORE_WRITE_MS / 2);
    object.logs.record("alice", event(2));
    vi.advanceTimersByTime(QUIET_BEFORE_WRITE_MS / 2);
    // Events still flow: nothing written yet.
    expect(object.store.writes.filter((w) => w === "saveLog")).toEqual([]);
    vi.advanceTimersByTime(QUIET_BEFORE_WRITE_MS);
    expect(object.store.writes.filter((w) => w === "saveLog")).toEqual(["saveLog"]);

    // A fresh instance over the same storage goes on with offset 3.
    const fresh = new SessionLogs(() => object.store as unknown as SessionStore, limits);
    expect(fresh.record("alice", event(3))).toMatch(/,"3"\]$/);
    expect(
      fresh
        .of("alice")
        ?.log.since("1")
        ?.map((e) => e.offset),
    ).toEqual([2, 3]);
  });
});

describe("a dropped session kept by the keeper", () => {
  it("keeps the newest events sent before the drop in half its budget, after hibernation too", async () => {
    vi.useFakeTimers();
    const object = keeperWith();
    const state = session();
    object.logs.changed(null, state);
    for (let n = 1; n <= 6; n++) object.logs.record("alice", event(n));
    vi.advanceTimersByTime(QUIET_BEFORE_WRITE_MS + 1);
    vi.useRealTimers();
    // The object hibernated: a new keeper and new logs over the same storage see the drop.
    const fresh = keeperWith();
    for (const [pid, s] of object.store.sessions) fresh.store.sessions.set(pid, s);
    for (const [pid, e] of object.store.eventsByPid) fresh.store.eventsByPid.set(pid, e);
    expect(await fresh.keeper.detach(state, 1_000)).toBe(true);
    expect(fresh.store.events(PID).map((e) => e.offset)).toEqual([3, 4, 5, 6]);
    expect(fresh.store.byPid(PID)).toMatchObject({ keptCount: 4, expiresAt: 31_000, next: 7 });
    expect(fresh.lines.map((l) => l.log)).toEqual(["session-kept"]);
  });

  it("ends, and hands to the alarm, a session whose kept events pass its one budget", async () => {
    const object = keeperWith();
    const state = await droppedAfter(object, 4);
    for (let n = 5; n <= 8; n++) expect(await object.keeper.keep("alice", event(n))).toBe(true);
    // Four from before the drop and four missed fill the budget of eight.
    expect(await object.keeper.keep("alice", event(9))).toBe(false);
    expect(object.store.byPid(PID)).toBeNull();
    expect(object.keeper.takeEnded()).toEqual([state]);
    expect(object.keeper.takeEnded()).toEqual([]);
    expect(object.lines.map((l) => l.log)).toContain("session-overflowed");
  });

  it("is not kept past the object's bound of sessions", async () => {
    const object = keeperWith({ maxSessions: 1 });
    await droppedAfter(object, 1);
    const bob = session({ socketId: "bob", pid: `${SELF}.${"Q".repeat(20)}` });
    object.logs.changed(null, bob);
    expect(await object.keeper.detach(bob, Date.now())).toBe(false);
    expect(object.lines.at(-1)).toMatchObject({ log: "session-not-kept", reason: "object full" });
  });
});

describe("join requests to a dropped owner", () => {
  const notice = (candidate: string, pad = 4_000) =>
    `42${JSON.stringify(["room-join-request", { room: "lobby", peer_id: candidate, peerinfo: "x".repeat(pad) }])}`;

  it("stay in the room: the session keeps a short note of each, and its rooms tell it again when it is back", async () => {
    const object = keeperWith();
    await droppedAfter(object, 1);
    // Far more requests than the budget of 8 events: they cost it nothing.
    for (let n = 0; n < 20; n++) expect(await object.keeper.keep("alice", notice(`x${n}`, 10), "lobby")).toBe(true);
    expect(await object.keeper.keep("alice", notice("x0", 10), "lobby")).toBe(true);
    // Five notices of 4 KB would pass the 10 KB budget; as notes they do not.
    for (const candidate of ["c1", "c2", "c3", "c4", "c5"]) {
      expect(await object.keeper.keep("alice", notice(candidate), "lobby")).toBe(true);
    }
    expect(await object.keeper.keep("alice", event(2), "lobby")).toBe(true);
    expect(object.store.byPid(PID)?.keptBytes).toBeLessThan(1_000);
    const resumed = await object.claims.resume(
      { pid: PID, offset: "1", app: "demo" },
      { ws: {} as WebSocket, tag: "fresh" },
    );
    expect(resumed?.handed.missed).toHaveLength(1);
    expect(resumed?.handed.owedNotices).toEqual(
      [...Array.from({ length: 20 }, (_, n) => `x${n}`), "c1", "c2", "c3", "c4", "c5"].map((candidate) => ({
        room: "lobby",
        candidate,
      })),
    );
    // Notes cost the budget nothing, and a request noted twice is told once.
    expect(resumed?.handed.events.length).toBeGreaterThan(0);
    // The notes are never sent, nor kept in the log it goes on from.
    expect(resumed?.handed.events.some((e) => e.frame.startsWith("owed-notice:"))).toBe(false);
  });

  it("keep only the newest notes past their bound, and the session goes on", async () => {
    const object = keeperWith();
    await droppedAfter(object, 1);
    const crowd = MAX_OWED_NOTES + 40;
    for (let n = 0; n < crowd; n++) expect(await object.keeper.keep("alice", notice(`x${n}`, 10), "lobby")).toBe(true);
    const notes = (object.store.events(PID) ?? []).filter((e) => owedOf(e.frame) !== null);
    expect(notes).toHaveLength(MAX_OWED_NOTES);
    const resumed = await object.claims.resume(
      { pid: PID, offset: "1", app: "demo" },
      { ws: {} as WebSocket, tag: "fresh" },
    );
    expect(resumed?.handed.owedNotices).toHaveLength(MAX_OWED_NOTES);
    expect(resumed?.handed.owedNotices[0]).toEqual({ room: "lobby", candidate: `x${crowd - MAX_OWED_NOTES}` });
    expect(resumed?.handed.owedNotices.at(-1)).toEqual({ room: "lobby", candidate: `x${crowd - 1}` });
  });
});

describe("a claim of a session", () => {
  const socket = { ws: {} as WebSocket, tag: "fresh" };

  it("gives a dropped session back with what it missed, and the socket takes it before resume returns", async () => {
    const object = keeperWith();
    await droppedAfter(object, 3);
    await object.keeper.keep("alice", event(4));
    const resumed = await object.claims.resume({ pid: PID, offset: "2", app: "demo" }, socket);
    expect(resumed?.handed.missed.map((f) => JSON.parse(f.slice(2)).at(-1))).toEqual(["3", "4"]);
    expect(object.adopted).toEqual([["alice", "fresh"]]);
    expect(object.updated[0]).toMatchObject({ socketId: "alice", engineId: "e2", rooms: ["lobby"] });
    // Its log goes on from everything it kept: the offsets just replayed are honoured at the next drop.
    expect(
      object.logs
        .of("alice")
        ?.log.since("3")
        ?.map((e) => e.offset),
    ).toEqual([4]);
  });

  it("after a restart, gives back what follows the client's offset, not the whole log again", async () => {
    vi.useFakeTimers();
    const object = keeperWith();
    object.logs.changed(null, session());
    for (let n = 1; n <= 4; n++) object.logs.record("alice", event(n));
    vi.advanceTimersByTime(QUIET_BEFORE_WRITE_MS + 1);
    vi.useRealTimers();
    // The runtime restarted: every socket was cut without a close; the sweep finds the session unheld.
    const fresh = keeperWith();
    for (const [pid, s] of object.store.sessions) fresh.store.sessions.set(pid, s);
    for (const [pid, e] of object.store.eventsByPid) fresh.store.eventsByPid.set(pid, e);
    await fresh.keeper.sweep(Date.now());
    expect(fresh.store.byPid(PID)?.lossy).toBe(true);
    const resumed = await fresh.claims.resume({ pid: PID, offset: "3", app: "demo" }, socket);
    expect(resumed?.handed.missed.map((f) => JSON.parse(f.slice(2)).at(-1))).toEqual(["4"]);
  });

  it("leaves the session as it was when the app or the offset is wrong", async () => {
    const object = keeperWith();
    await droppedAfter(object, 2);
    expect(await object.claims.resume({ pid: PID, offset: "1", app: "other" }, socket)).toBeNull();
    expect(await object.claims.resume({ pid: PID, offset: "99", app: "demo" }, socket)).toBeNull();
    expect(object.store.byPid(PID)?.expiresAt).toBeGreaterThan(Date.now());
    expect(object.keeper.takeEnded()).toEqual([]);
    expect(await object.claims.resume({ pid: PID, offset: "2", app: "demo" }, socket)).not.toBeNull();
  });

  it("does not take a connected session from a client that answers pings, unless it shows the session token", async () => {
    const object = keeperWith({ held: new Map([["alice", "alice"]]), answers: true });
    object.logs.changed(null, session());
    object.logs.record("alice", event(1));
    expect(await object.claims.resume({ pid: PID, offset: "1", app: "demo" }, socket)).toBeNull();
    expect(await object.claims.resume({ pid: PID, offset: "1", app: "demo", session: "bad" }, socket)).toBeNull();
    expect(object.probes).toEqual(["alice", "alice"]);
    expect(object.closedHere).toEqual([]);
    const taken = await object.claims.resume({ pid: PID, offset: "1", app: "demo", session: "good-token" }, socket);
    expect(taken?.superseded).toBe("alice");
    expect(object.closedHere).toEqual(["alice"]);
    expect(object.probes).toHaveLength(2);
  });

  it("takes a connected session whose old socket is silent (its network changed)", async () => {
    const object = keeperWith({ held: new Map([["alice", "alice"]]), answers: false });
    object.logs.changed(null, session());
    const taken = await object.claims.resume({ pid: PID, offset: undefined, app: "demo" }, socket);
    expect(taken?.superseded).toBe("alice");
  });

  it("meets claims of one pid one at a time: the second finds it taken", async () => {
    const object = keeperWith();
    await droppedAfter(object, 1);
    // The first claim's socket holds the session once it is adopted; the probe then finds its client there.
    const [first, second] = await Promise.all([
      object.claims.resume({ pid: PID, offset: "1", app: "demo" }, socket),
      object.claims.resume({ pid: PID, offset: "1", app: "demo" }, { ws: {} as WebSocket, tag: "other" }),
    ]);
    expect(first).not.toBeNull();
    expect(second).toBeNull();
    expect(object.adopted).toEqual([["alice", "fresh"]]);
  });
});

describe("owed notices", () => {
  it("stand for one join request each, and only a join-request notice is one", () => {
    expect(owedOf(owedNotice("lobby", "c1"))).toEqual({ room: "lobby", candidate: "c1" });
    expect(owedOf('42["ice-candidate",{}]')).toBeNull();
    expect(joinRequestCandidate('42["room-join-request",{"room":"lobby","peer_id":"c1"}]')).toBe("c1");
    expect(joinRequestCandidate('42["room-user-join",{"room":"lobby","peer_id":"c1"}]')).toBeNull();
    // A client's text cannot pass for a note: notes are never frames, and frames start with 4.
    expect(owedOf('42["room-join-request",{"peerinfo":"owed-notice:{}"}]')).toBeNull();
  });
});
