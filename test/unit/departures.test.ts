import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { Departures } from "../../src/durable/sockets/departures";
import { HeldSockets } from "../../src/durable/sockets/held-sockets";
import type { ConnectionState } from "../../src/signaling/connection-state";
import type { RoomReply } from "../../src/signaling/room-requests";
import type { Peer, RoomRef } from "../../src/signaling/room-store";
import { connected, FakeRuntime, stubWebSocketGlobal } from "../support/fake-sockets";
import { LogLines } from "../support/log-lines";

beforeAll(stubWebSocketGlobal);
afterAll(() => vi.unstubAllGlobals());
// Time is frozen: a socket opened at 0 closes 90 s later.
beforeEach(() => vi.useFakeTimers({ toFake: ["Date"], now: 90_000 }));
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

const ok: RoomReply = { outcome: { ok: true, data: {} }, reply: [] };

/**
 * Departures in object "here": its held sockets over a fake runtime, a keeper
 * that keeps a session when `keeps` says so, and a gateway that records each
 * room request (and fails those for the rooms in `failing`).
 */
function departuresIn(options: { keeps?: boolean; failing?: string[]; unlogged?: number; refusing?: string[] } = {}) {
  const runtime = new FakeRuntime();
  const held = new HeldSockets(runtime, { record: (_id, frame) => frame, changed: () => {} });
  const requests: Array<{ room: string; actor: Peer; kind: string }> = [];
  const keeper = { detached: [] as string[], ended: [] as string[] };
  const forgotten = { guard: [] as string[], sessions: [] as string[] };
  const log = new LogLines(undefined, () => "room:demo/lobby");
  const departures = new Departures({
    self: "here",
    held,
    keeper: {
      detach: async (state) => {
        keeper.detached.push(state.socketId);
        return options.keeps ?? true;
      },
      end: async (state) => void keeper.ended.push(state.socketId),
    },
    gateway: {
      request: async (ref: RoomRef, actor: Peer, action) => {
        requests.push({ room: ref.room, actor, kind: action.kind });
        if (options.failing?.includes(ref.room)) throw new Error(`room ${ref.room} is unreachable`);
        if (options.refusing?.includes(ref.room))
          return { outcome: { ok: false, error: { code: "ERR_NOT_IN_ROOM", message: "no" } }, reply: [] };
        return ok;
      },
    },
    guard: {
      forget: (tag) => {
        forgotten.guard.push(tag);
        return options.unlogged ?? 0;
      },
    },
    sessions: { forget: (socketId) => void forgotten.sessions.push(socketId) },
    log,
  });
  /** A socket accepted under its socket id, with `state`. */
  const accept = (state: ConnectionState) => {
    const socket = runtime.accept(state.socketId);
    held.opened(socket.ws, state);
    return socket;
  };
  const rooms = () => requests.map((request) => `${request.kind} ${request.room}`);
  return { departures, held, accept, requests, rooms, keeper, forgotten, log };
}

/** A recoverable session, connected, in two rooms and asking to join a third. */
const session = connected("alice", { recovery: true, pid: "p1", rooms: ["a", "b"], requested: ["b", "c"] });
const { pid: _pid, ...sessionWithoutPid } = session;

describe("a socket dropped by its object", () => {
  it("is closed once and released once: a second drop of the same socket does nothing", async () => {
    const object = departuresIn();
    const alice = object.accept(connected("alice", { rooms: ["a"] }));
    await Promise.all([
      object.departures.drop(alice.ws, "alice", 1008, "rate limit exceeded"),
      object.departures.drop(alice.ws, "alice", 1011, "internal error"),
    ]);
    await object.departures.drop(alice.ws, "alice", 1011, "internal error");
    expect(alice.closes).toEqual([{ code: 1008, reason: "rate limit exceeded" }]);
    expect(object.rooms()).toEqual(["drop a"]);
    expect(object.log.lines.filter((line) => line.log === "socket-close")).toHaveLength(1);
    // The runtime's close event, when it comes, is known to be handled already.
    expect(object.held.takeClosedHere("alice")).toBe(true);
  });
});

describe("a closed socket let go", () => {
  it("keeps a recoverable connected session whose socket closed without a goodbye: its rooms are not left", async () => {
    const object = departuresIn({ keeps: true });
    const alice = object.accept(session);
    await object.departures.release(alice.ws, "alice", 1006, "");
    expect(object.keeper.detached).toEqual(["alice"]);
    expect(object.requests).toEqual([]);
    expect(object.keeper.ended).toEqual([]);
  });

  it.each([
    [1000, "a goodbye"],
    [1008, "a flood"],
    [1009, "an oversized frame"],
  ])("ends a recoverable session on close %i (%s): every room and request is dropped", async (code) => {
    const object = departuresIn({ keeps: true });
    const alice = object.accept(session);
    await object.departures.release(alice.ws, "alice", code, "");
    expect(object.keeper.detached).toEqual([]);
    expect(object.rooms()).toEqual(["drop a", "drop b", "drop c"]);
    expect(object.requests.map((request) => request.actor)).toEqual(
      Array(3).fill({ id: "alice", home: "here", peerinfo: null }),
    );
    expect(object.keeper.ended).toEqual(["alice"]);
  });

  it("ends a recoverable session the keeper could not keep (no log of it here)", async () => {
    const object = departuresIn({ keeps: false });
    const alice = object.accept(session);
    await object.departures.release(alice.ws, "alice", 1006, "");
    expect(object.keeper.detached).toEqual(["alice"]);
    expect(object.rooms()).toEqual(["drop a", "drop b", "drop c"]);
    expect(object.keeper.ended).toEqual(["alice"]);
  });

  it.each([
    ["not connected", { ...session, connected: false }],
    ["without a pid", sessionWithoutPid],
  ])("does not keep a recoverable session %s: it leaves its rooms", async (_why, state) => {
    const object = departuresIn({ keeps: true });
    const alice = object.accept(state);
    await object.departures.release(alice.ws, "alice", 1006, "");
    expect(object.keeper.detached).toEqual([]);
    expect(object.rooms()).toEqual(["drop a", "drop b", "drop c"]);
  });

  it("lets a socket without recovery leave all its rooms on any close, and clears them from its state", async () => {
    const object = departuresIn({ keeps: true });
    const bob = object.accept(connected("bob", { rooms: ["a", "b"], requested: ["c"] }));
    await object.departures.release(bob.ws, "bob", 1006, "");
    expect(object.keeper).toEqual({ detached: [], ended: [] });
    expect(object.rooms()).toEqual(["drop a", "drop b", "drop c"]);
    // What the attachment says now, should the object be woken with this socket still closing.
    expect(object.held.state(bob.ws, "bob")).toMatchObject({ rooms: [], requested: [] });
  });

  it("asks the other rooms when one room's request fails, and still ends the session", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const object = departuresIn({ failing: ["a"] });
    const alice = object.accept(session);
    await object.departures.release(alice.ws, "alice", 1000, "client closed");
    expect(object.rooms()).toEqual(["drop a", "drop b", "drop c"]);
    expect(object.keeper.ended).toEqual(["alice"]);
    expect(errors).toHaveBeenCalledTimes(1);
  });

  it("logs the close once with how long the socket lived, and the refusals it held back", async () => {
    const object = departuresIn({ unlogged: 4 });
    const bob = object.accept(connected("bob", { openedAt: 30_000 }));
    await object.departures.release(bob.ws, "bob", 1006, "gone");
    expect(object.log.lines).toEqual([
      {
        log: "socket-close",
        object: "room:demo/lobby",
        socket: "bob",
        code: 1006,
        reason: "gone",
        seconds: 60,
        unloggedRefusals: 4,
      },
    ]);
    expect(object.forgotten).toEqual({ guard: ["bob"], sessions: ["bob"] });
  });

  it("logs the close of a socket without state by its tag, with no seconds and no refusal count", async () => {
    const object = departuresIn();
    const stranger = new FakeRuntime().accept("stranger");
    await object.departures.release(stranger.ws, "stranger", 1006, "");
    expect(object.log.lines).toEqual([
      { log: "socket-close", object: "room:demo/lobby", socket: "stranger", code: 1006, reason: "" },
    ]);
    expect(object.requests).toEqual([]);
  });
});

describe("a session that moves", () => {
  it("closes the old socket of a session resumed on a new one, without letting the session go", async () => {
    const object = departuresIn();
    const old = object.accept(session);
    object.departures.supersede("alice");
    expect(old.closes).toEqual([{ code: 1000, reason: "session resumed on a new connection" }]);
    expect(object.held.closedHere("alice")).toBe(true);
    expect(object.requests).toEqual([]);
    expect(object.keeper).toEqual({ detached: [], ended: [] });
    // Its close is logged like any other, once.
    expect(object.log.lines).toEqual([
      expect.objectContaining({
        log: "socket-close",
        socket: "alice",
        code: 1000,
        reason: "session resumed on a new connection",
      }),
    ]);
  });

  it("does nothing to supersede a session no socket here holds", () => {
    const object = departuresIn();
    object.departures.supersede("nobody");
    expect(object.held.closedHere("nobody")).toBe(false);
  });

  it("asks each of a resumed session's rooms to send its events here, and goes on past a refusal", async () => {
    const warnings = vi.spyOn(console, "warn").mockImplementation(() => {});
    const object = departuresIn({ refusing: ["a"] });
    await object.departures.rehome(session);
    expect(object.rooms()).toEqual(["rehome a", "rehome b", "rehome c"]);
    expect(object.requests[0]?.actor).toEqual({ id: "alice", home: "here", peerinfo: null });
    expect(warnings).toHaveBeenCalledWith(expect.stringContaining("ERR_NOT_IN_ROOM"));
  });

  // One unreachable room (its RPC throws) must not leave the session's later rooms still sending
  // its events to its old object (rehome once let the error out, unlike leaveRooms).
  it("asks the other rooms to rehome when one room's request fails", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const object = departuresIn({ failing: ["a"] });
    await object.departures.rehome(session);
    expect(object.rooms()).toEqual(["rehome a", "rehome b", "rehome c"]);
  });
});
