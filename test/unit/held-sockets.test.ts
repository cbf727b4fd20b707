import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { HeldSockets } from "../../src/durable/sockets/held-sockets";
import type { ConnectionState } from "../../src/signaling/connection-state";
import { connected, FakeRuntime, READY_STATE_CLOSED, stubWebSocketGlobal } from "../support/fake-sockets";

beforeAll(stubWebSocketGlobal);
afterAll(() => vi.unstubAllGlobals());

/** An object's held sockets over a fake runtime; a recoverable session's frames get "@<id>" from its log. */
function holding(runtime = new FakeRuntime()) {
  const records: Array<[string, string]> = [];
  const changes: Array<[ConnectionState | null, ConnectionState]> = [];
  const held = new HeldSockets(runtime, {
    record: (socketId, frame) => {
      records.push([socketId, frame]);
      return `${frame}@${socketId}`;
    },
    changed: (before, after) => void changes.push([before, after]),
  });
  /** A socket accepted under its socket id, with `state`. */
  const accept = (state: ConnectionState, tag = state.socketId) => {
    const socket = runtime.accept(tag);
    held.opened(socket.ws, state);
    return socket;
  };
  return { held, runtime, records, changes, accept };
}

describe("the sockets an object holds", () => {
  it("asks the runtime for a socket's tag once, then remembers it", () => {
    const { held, runtime, accept } = holding();
    const alice = accept(connected("alice"));
    expect(held.tagOf(alice.ws)).toBe("alice");
    expect(held.tagOf(alice.ws)).toBe("alice");
    expect(runtime.tagLookups).toBe(1);
  });

  it("finds a peer's socket by its tag, and asks the runtime again only once that socket is no longer open", () => {
    const { held, runtime, accept } = holding();
    const alice = accept(connected("alice"));
    expect(held.byId("alice")).toBe(alice.ws);
    expect(held.byId("alice")).toBe(alice.ws);
    expect(runtime.lookups.filter((tag) => tag === "alice")).toHaveLength(1);

    alice.readyState = READY_STATE_CLOSED;
    runtime.gone(alice);
    expect(held.byId("alice")).toBeUndefined();
    expect(held.isHeld("alice")).toBe(false);
    expect(held.isHeld("nobody")).toBe(false);
  });

  it("finds a recovered session by the socket that adopted its id", () => {
    const { held, accept } = holding();
    const newSocket = accept(connected("new-tag"));
    expect(held.byId("session")).toBeUndefined();
    // The CONNECT resumed session "session" on the socket accepted as "new-tag".
    held.update(newSocket.ws, "new-tag", (current) => ({ ...current, socketId: "session" }));
    held.adopt("session", "new-tag");
    expect(held.byId("session")).toBe(newSocket.ws);
    expect(held.live("session")?.tag).toBe("new-tag");
  });

  it("rebuilds adoptions from the attachments once per instance (a woken object)", () => {
    const runtime = new FakeRuntime();
    const before = holding(runtime);
    const resumed = before.accept(connected("session"), "new-tag");
    before.accept(connected("bob"));

    const woken = holding(runtime);
    expect(woken.held.byId("session")).toBe(resumed.ws);
    expect(woken.held.byId("carol")).toBeUndefined();
    expect(woken.held.byId("dave")).toBeUndefined();
    expect(runtime.lookups.filter((tag) => tag === "")).toHaveLength(1);
  });

  it("gives a live socket with its tag and state, and refuses one this object closed itself", () => {
    const { held, accept } = holding();
    const alice = accept(connected("alice", { rooms: ["lobby"] }));
    expect(held.live("alice")).toEqual({ ws: alice.ws, tag: "alice", state: connected("alice", { rooms: ["lobby"] }) });
    held.closeHere("alice");
    expect(held.byId("alice")).toBe(alice.ws); // still open: the runtime has not closed it yet
    expect(held.live("alice")).toBeNull();
    expect(held.live("nobody")).toBeNull();
  });

  it("remembers the sockets it closed itself until the runtime reports their close, once", () => {
    const { held } = holding();
    expect(held.closedHere("alice")).toBe(false);
    held.closeHere("alice");
    expect(held.closedHere("alice")).toBe(true);
    expect(held.takeClosedHere("alice")).toBe(true);
    expect(held.takeClosedHere("alice")).toBe(false);
    expect(held.closedHere("alice")).toBe(false);
  });

  it("writes a change to memory and to the attachment, which a woken object reads", () => {
    const runtime = new FakeRuntime();
    const { held, accept } = holding(runtime);
    const alice = accept(connected("alice"));
    const after = held.update(alice.ws, "alice", (current) => ({ ...current, rooms: ["lobby"] }));
    expect(after?.rooms).toEqual(["lobby"]);
    expect(held.state(alice.ws, "alice")?.rooms).toEqual(["lobby"]);
    expect(holding(runtime).held.state(alice.ws, "alice")?.rooms).toEqual(["lobby"]);
  });

  it("tells the session logs of a change only for a recoverable session", () => {
    const { held, changes, accept } = holding();
    const plain = accept(connected("plain"));
    const kept = accept(connected("kept", { recovery: true, pid: "p1" }));
    held.update(plain.ws, "plain", (current) => ({ ...current, rooms: ["lobby"] }));
    held.update(kept.ws, "kept", (current) => ({ ...current, rooms: ["lobby"] }));
    expect(changes).toEqual([
      [
        connected("kept", { recovery: true, pid: "p1" }),
        connected("kept", { recovery: true, pid: "p1", rooms: ["lobby"] }),
      ],
    ]);
  });

  it("changes nothing for a socket without state", () => {
    const { held, runtime, changes } = holding();
    const stranger = runtime.accept("stranger");
    expect(held.update(stranger.ws, "stranger", (current) => ({ ...current, recovery: true }))).toBeNull();
    expect(held.state(stranger.ws, "stranger")).toBeNull();
    expect(changes).toEqual([]);
  });

  it("sends a recoverable session's frames through its log, others' as they are, and reports a closed socket", () => {
    const { held, records, accept } = holding();
    const plainState = connected("plain");
    const keptState = connected("kept", { recovery: true, pid: "p1" });
    const plain = accept(plainState);
    const kept = accept(keptState);
    expect(held.send(plain.ws, plainState, "a")).toBe(true);
    expect(held.send(kept.ws, keptState, "b")).toBe(true);
    expect(plain.sent).toEqual(["a"]);
    expect(kept.sent).toEqual(["b@kept"]);
    expect(records).toEqual([["kept", "b"]]);

    plain.close(1000, "bye");
    expect(held.send(plain.ws, plainState, "c")).toBe(false);
  });

  it("counts an event logged for a recoverable session as kept when its socket just died (its close keeps the session)", () => {
    const { held, records, accept } = holding();
    const keptState = connected("kept", { recovery: true, pid: "p1" });
    const kept = accept(keptState);
    kept.close(1006, "");
    expect(held.send(kept.ws, keptState, "late")).toBe(true);
    expect(records).toEqual([["kept", "late"]]);
  });

  it("forgets a peer: its adoption and its remembered socket", () => {
    const { held, runtime, accept } = holding();
    accept(connected("session"), "new-tag");
    held.adopt("session", "new-tag");
    expect(held.isHeld("session")).toBe(true);
    held.forgetPeer("session");
    expect(held.byId("session")).toBeUndefined();

    const alice = accept(connected("alice"));
    held.byId("alice");
    held.forgetPeer("alice");
    expect(held.byId("alice")).toBe(alice.ws);
    expect(runtime.lookups.filter((tag) => tag === "alice")).toHaveLength(2);
  });

  it("forgets a socket's state in memory: it is read from the attachment again", () => {
    const { held, accept } = holding();
    const alice = accept(connected("alice"));
    alice.serializeAttachment(null);
    expect(held.state(alice.ws, "alice")).not.toBeNull();
    held.forgetState("alice");
    expect(held.state(alice.ws, "alice")).toBeNull();
  });
});
