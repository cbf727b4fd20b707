import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { VerifiedSessions } from "../../src/auth/verified-sessions";
import { readSocketConfig } from "../../src/config";
import type { Resumed } from "../../src/durable/recovery/session-claims";
import { KeyedQueue } from "../../src/durable/runtime/keyed-queue";
import { Departures } from "../../src/durable/sockets/departures";
import { FloodGuard } from "../../src/durable/sockets/flood-guard";
import { HeldSockets } from "../../src/durable/sockets/held-sockets";
import { SocketFrames } from "../../src/durable/sockets/socket-frames";
import { encodeEngineMessage } from "../../src/protocol/engine-io";
import { encodeAck, encodeConnectAccept } from "../../src/protocol/socket-io";
import type { ConnectionState } from "../../src/signaling/connection-state";
import type { RoomReply } from "../../src/signaling/room-requests";
import type { RoomAction } from "../../src/signaling/room-rules";
import { CLOSE_PING_TIMEOUT } from "../../src/socket/heartbeat";
import type { RateLimit } from "../../src/socket/rate-limit";
import { connected, FakeRuntime, FakeSocket, stubWebSocketGlobal } from "../support/fake-sockets";
import { LogLines } from "../support/log-lines";

beforeAll(stubWebSocketGlobal);
afterAll(() => vi.unstubAllGlobals());
// Time is frozen: the rate limit's bucket does not refill between frames.
beforeEach(() => vi.useFakeTimers({ toFake: ["Date"], now: 1_000_000 }));
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

function deferred<T>() {
  let resolve: (value: T) => void = () => {};
  let reject: (error: unknown) => void = () => {};
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets promise callbacks that are already due run (a later answer's `then`s). */
const settled = () => new Promise((resolve) => setTimeout(resolve, 0));

const ok: RoomReply = { outcome: { ok: true, data: {} }, reply: [] };
const join = (ackId: number) => `42${ackId}["room-join-request",{"auth":"t","room":"lobby"}]`;
const relay = (ackId: number) =>
  `42${ackId}["relay-ice-candidate",{"auth":"t","room":"lobby","to":"bob","ice_candidate":{}}]`;
const ack = (ackId: number, outcome: unknown) => encodeEngineMessage(encodeAck(ackId, outcome));

/**
 * Object "here" handling its sockets' frames with its real jobs (held
 * sockets over a fake runtime, flood guard, departures, queue) and fakes of
 * the rest: rooms answering with `answer` (by default: ok at once), a keeper
 * resuming with `resume`. A recoverable session's frames get "@<id>" from its log.
 */
function objectWith(
  options: {
    rate?: RateLimit;
    tokenSecret?: () => string;
    resume?: () => Resumed | null;
    answer?: (action: RoomAction) => Promise<RoomReply>;
  } = {},
) {
  const runtime = new FakeRuntime();
  const records: Array<[string, string]> = [];
  const held = new HeldSockets(runtime, {
    record: (socketId, frame) => {
      records.push([socketId, frame]);
      return `${frame}@${socketId}`;
    },
    changed: () => {},
  });
  const guard = new FloodGuard(() => options.rate ?? { rate: 50, capacity: 200 });
  const sessions = new VerifiedSessions();
  const log = new LogLines(undefined, () => "here");
  const requests: string[] = [];
  const gateway = {
    request: async (ref: { room: string }, _actor: unknown, action: RoomAction) => {
      requests.push(`${action.kind} ${ref.room}`);
      return options.answer ? options.answer(action) : ok;
    },
  };
  const keeper = {
    newPid: () => "here-pid",
    detach: async () => false,
    end: async () => {},
  };
  const claims = {
    // As the real claims do: the old socket is marked closed here, and the new one takes the session
    // before resume returns.
    resume: async (_claim: unknown, socket: { ws: WebSocket; tag: string }) => {
      const resumed = options.resume?.() ?? null;
      if (resumed) {
        if (resumed.superseded) held.closeHere(resumed.superseded);
        held.update(socket.ws, socket.tag, () => resumed.handed.state);
        held.adopt(resumed.handed.state.socketId, socket.tag);
      }
      return resumed;
    },
  };
  const departures = new Departures({ self: "here", held, keeper, gateway, guard, sessions, log });
  const queue = new KeyedQueue();
  const frames = new SocketFrames({
    self: "here",
    held,
    guard,
    keeper,
    claims,
    departures,
    gateway,
    sessions,
    config: () => readSocketConfig({}),
    tokenSecret: options.tokenSecret ?? (() => "secret"),
    queues: queue,
    log,
  });
  /** A socket accepted under its socket id, with `state`; its session token "t" is known valid. */
  const accept = (state: ConnectionState) => {
    const socket = runtime.accept(state.socketId);
    held.opened(socket.ws, state);
    sessions.remember(state.socketId, "t", Number.POSITIVE_INFINITY);
    return socket;
  };
  return { frames, held, departures, accept, records, requests, log };
}

describe("a frame from an object's socket", () => {
  it("closes a socket the object has no tag for with 1011, and one without state", async () => {
    const object = objectWith();
    const untagged = new FakeSocket([]);
    await object.frames.receive(untagged.ws, "2");
    expect(untagged.closes).toEqual([{ code: 1011, reason: "connection state lost" }]);

    const stateless = new FakeRuntime().accept("ghost");
    const ghost = objectWith();
    await ghost.frames.receive(stateless.ws, "2");
    expect(stateless.closes).toEqual([{ code: 1011, reason: "connection state lost" }]);
  });

  it("answers a frame past the rate limit with a refusal, and does not handle it", async () => {
    const object = objectWith({ rate: { rate: 1, capacity: 2 } });
    const alice = object.accept(connected("alice"));
    for (const frame of ["2", "2", "2"]) await object.frames.receive(alice.ws, frame);
    expect(alice.sent.slice(0, 2)).toEqual(["3", "3"]);
    expect(alice.sent[2]).toMatch(/^42\["signaling-error",\{"code":"ERR_RATE_LIMITED"/);
    expect(alice.sent).toHaveLength(3);
    expect(alice.closes).toEqual([]);
  });

  it("closes a flood with 1008 after the socket's earlier frames are handled", async () => {
    const room = deferred<RoomReply>();
    const object = objectWith({ rate: { rate: 1, capacity: 2 }, answer: () => room.promise });
    const alice = object.accept(connected("alice"));
    const earlier = [object.frames.receive(alice.ws, join(1)), object.frames.receive(alice.ws, "2")];
    // Two refusals answered, then more refusals than the burst: a flood.
    for (let i = 0; i < 3; i++) await object.frames.receive(alice.ws, "2");
    expect(alice.closes).toEqual([]);

    room.resolve(ok);
    await Promise.all(earlier);
    await settled();
    expect(alice.sent.slice(2)).toEqual([ack(1, { ok: true, data: {} }), "3"]);
    expect(alice.closes).toEqual([{ code: 1008, reason: "rate limit exceeded" }]);
    expect(object.log.lines).toContainEqual(
      expect.objectContaining({ log: "refusal", socket: "alice", code: "ERR_RATE_LIMITED", action: "closed" }),
    );
  });

  it("ignores the frames of a socket the object is closing (its rooms being left first)", async () => {
    const left = deferred<RoomReply>();
    const object = objectWith({ answer: () => left.promise });
    const alice = object.accept(connected("alice", { rooms: ["lobby"] }));
    // The heartbeat sweep drops it, outside its frames' queue.
    const dropping = object.departures.drop(alice.ws, "alice", CLOSE_PING_TIMEOUT, "ping timeout");
    await object.frames.receive(alice.ws, "2");
    left.resolve(ok);
    await dropping;
    expect(alice.sent).toEqual([]);
    expect(alice.closes).toEqual([{ code: CLOSE_PING_TIMEOUT, reason: "ping timeout" }]);
  });

  it("handles one socket's frames in order, and other sockets' meanwhile", async () => {
    const room = deferred<RoomReply>();
    const object = objectWith({ answer: () => room.promise });
    const alice = object.accept(connected("alice"));
    const bob = object.accept(connected("bob"));
    const alices = [object.frames.receive(alice.ws, join(1)), object.frames.receive(alice.ws, "2")];
    await object.frames.receive(bob.ws, "2");
    expect(bob.sent).toEqual(["3"]);
    expect(alice.sent).toEqual([]);

    room.resolve(ok);
    await Promise.all(alices);
    expect(alice.sent).toEqual([ack(1, { ok: true, data: {} }), "3"]);
  });

  it("closes only the socket whose frame hit a bug (here a missing secret) with 1011", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const object = objectWith({
      tokenSecret: () => {
        throw new Error("TOKEN_SECRET is not set");
      },
    });
    const alice = object.accept(connected("alice", { connected: false }));
    const bob = object.accept(connected("bob"));
    await expect(object.frames.receive(alice.ws, '40{"token":"app-token"}')).resolves.toBeUndefined();
    await object.frames.receive(bob.ws, "2");
    expect(alice.closes).toEqual([{ code: 1011, reason: "internal error" }]);
    expect(bob.sent).toEqual(["3"]);
    expect(bob.closes).toEqual([]);
    expect(errors).toHaveBeenCalledWith("[here] socket alice:", expect.any(Error));
  });
});

describe("an answer that comes later (a relay's ack)", () => {
  it("is sent when it settles, while the socket's next frames go on", async () => {
    const delivered = deferred<RoomReply>();
    const object = objectWith({ answer: async () => ({ ...ok, later: delivered.promise }) });
    const alice = object.accept(connected("alice", { rooms: ["lobby"] }));
    await object.frames.receive(alice.ws, relay(5));
    await object.frames.receive(alice.ws, "2");
    expect(alice.sent).toEqual(["3"]);

    delivered.resolve({ outcome: { ok: true, data: { delivered: true } }, reply: [] });
    await settled();
    expect(alice.sent).toEqual(["3", ack(5, { ok: true, data: { delivered: true } })]);
  });

  it("is not sent to a socket the object closed meanwhile", async () => {
    const delivered = deferred<RoomReply>();
    const left = deferred<RoomReply>();
    const object = objectWith({
      answer: async (action) => (action.kind === "relay" ? { ...ok, later: delivered.promise } : left.promise),
    });
    const alice = object.accept(connected("alice", { rooms: ["lobby"] }));
    await object.frames.receive(alice.ws, relay(5));
    // The client's Engine.IO close: the object drops the socket, whose room is being left.
    const closing = object.frames.receive(alice.ws, "1");
    delivered.resolve(ok);
    await settled();
    left.resolve(ok);
    await closing;
    expect(object.requests).toEqual(["relay lobby", "drop lobby"]);
    expect(alice.sent).toEqual([]);
    expect(alice.closes).toEqual([{ code: 1000, reason: "client closed" }]);
  });

  it("that the room rejects is answered with ERR_INTERNAL and logged, and the socket goes on", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const delivered = deferred<RoomReply>();
    const object = objectWith({ answer: async () => ({ ...ok, later: delivered.promise }) });
    const alice = object.accept(connected("alice", { rooms: ["lobby"] }));
    await object.frames.receive(alice.ws, relay(5));
    delivered.reject(new Error("the receiver's object is gone"));
    await settled();
    expect(alice.sent).toEqual([
      expect.stringMatching(/^42\["signaling-error",\{"code":"ERR_INTERNAL"/),
      expect.stringMatching(/^435\[\{"ok":false,"error":\{"code":"ERR_INTERNAL"/),
    ]);
    expect(errors).toHaveBeenCalled();
    expect(alice.closes).toEqual([]);
  });

  it("that fails to be framed is logged, not thrown, and the socket goes on", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const delivered = deferred<RoomReply>();
    const object = objectWith({ answer: async () => ({ ...ok, later: delivered.promise }) });
    const alice = object.accept(connected("alice", { rooms: ["lobby"] }));
    await object.frames.receive(alice.ws, relay(5));
    // A bug's stand-in: JSON cannot carry a BigInt, so framing the ack throws.
    delivered.resolve({ outcome: { ok: true, data: 1n }, reply: [] });
    await settled();
    expect(errors).toHaveBeenCalledWith("[here] a later answer failed:", expect.any(TypeError));
    await object.frames.receive(alice.ws, "2");
    expect(alice.sent).toEqual(["3"]);
  });
});

describe("a CONNECT that resumes a recovered session", () => {
  const session = connected("old", { recovery: true, pid: "here-p1", rooms: ["lobby"] });
  const missed = ['42["relay-ice-candidate",{"from":"bob"},"3"]', '42["room-member-left",{"peer_id":"bob"},"4"]'];

  function resuming(remote: boolean, answer?: (action: RoomAction) => Promise<RoomReply>) {
    const object = objectWith({
      resume: () => ({
        handed: { state: session, next: 5, missed, events: [], owedNotices: [] },
        superseded: "old",
        remote,
      }),
      ...(answer ? { answer } : {}),
    });
    const old = object.accept(session);
    const fresh = object.accept(connected("fresh", { connected: false, recovery: true }));
    return { object, old, fresh };
  }

  it("adopts the session's id and sends its answer and missed events as they are, with no second offset", async () => {
    const { object, old, fresh } = resuming(false);
    await object.frames.receive(fresh.ws, '40{"pid":"here-p1","offset":"2"}');
    expect(fresh.sent).toEqual([encodeEngineMessage(encodeConnectAccept("old", "here-p1")), ...missed]);
    expect(object.records).toEqual([]);
    expect(old.closes).toEqual([{ code: 1000, reason: "session resumed on a new connection" }]);
    expect(object.held.byId("old")).toBe(fresh.ws);
    expect(object.requests).toEqual([]);

    // From now on its frames are the session's: logged under its id, with their offsets.
    await object.frames.receive(fresh.ws, "2");
    expect(fresh.sent.at(-1)).toBe("3@old");
    expect(object.records).toEqual([["old", "3"]]);
  });

  it("from another object, asks its rooms to send its events here", async () => {
    const { object, fresh } = resuming(true);
    await object.frames.receive(fresh.ws, '40{"pid":"here-p1","offset":"2"}');
    expect(object.requests).toEqual(["rehome lobby"]);
    expect(fresh.closes).toEqual([]);
  });

  // A room whose rehome request throws once made Departures.rehome throw, and the resumed socket was
  // closed with 1011, though the session was already handed over to it.
  it("from another object, survives a room that fails to rehome", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const { object, fresh } = resuming(true, async () => {
      throw new Error("the room's object is unreachable");
    });
    await object.frames.receive(fresh.ws, '40{"pid":"here-p1","offset":"2"}');
    expect(fresh.closes).toEqual([]);
  });
});
