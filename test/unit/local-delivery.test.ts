import { describe, expect, it } from "vitest";
import { LocalDelivery } from "../../src/durable/mesh/local-delivery";
import type { ObjectRpc } from "../../src/durable/mesh/object-rpc";
import type { Roster, Rosters } from "../../src/durable/mesh/rosters";
import type { SessionKeeper } from "../../src/durable/recovery/session-keeper";
import { KeyedQueue } from "../../src/durable/runtime/keyed-queue";
import { Log } from "../../src/durable/runtime/log";
import type { HeldSockets } from "../../src/durable/sockets/held-sockets";
import { type ConnectionState, newConnection } from "../../src/signaling/connection-state";

const ref = { app: "demo", room: "lobby" };

function member(socketId: string, rooms: string[], app = "demo"): ConnectionState {
  return { ...newConnection({ engineId: `e-${socketId}`, socketId, openedAt: 0, app }), connected: true, rooms };
}

/**
 * An object holding some sockets (their frames recorded), some sessions kept
 * for their clients, and some sessions that moved to other objects.
 */
function objectHolding(
  states: ConnectionState[],
  kept: string[] = [],
  moved: Record<string, string> = {},
  /** A resume under way: when it is met, this state's socket is held here. */
  arriving?: { state: ConnectionState; met: Promise<void> },
) {
  const sent: Record<string, string[]> = {};
  const byId = new Map(states.map((state) => [state.socketId, state]));
  const held = {
    live: (id: string) => {
      const state = byId.get(id);
      return state ? { ws: id as unknown as WebSocket, tag: id, state } : null;
    },
    byId: (id: string) => (byId.has(id) ? (id as unknown as WebSocket) : undefined),
    update: (_ws: WebSocket, tag: string, change: (current: ConnectionState) => ConnectionState) => {
      const next = change(byId.get(tag) as ConnectionState);
      byId.set(tag, next);
      return next;
    },
    send: (ws: WebSocket, _state: ConnectionState, frame: string) => {
      const id = ws as unknown as string;
      sent[id] = [...(sent[id] ?? []), frame];
      return true;
    },
  } as unknown as HeldSockets;
  const keptFrames: Record<string, string[]> = {};
  const keep = async (id: string, frame: string) => {
    if (!kept.includes(id)) return false;
    keptFrames[id] = [...(keptFrames[id] ?? []), frame];
    return true;
  };
  const keeper = {
    keep,
    keepRelay: (_ref: unknown, id: string, frame: string) => keep(id, frame),
    movedTo: (id: string) => moved[id] ?? null,
    waiting: (id: string) => kept.includes(id),
  } as unknown as SessionKeeper;
  const passedOn: Array<{ home: string; kind: string; to: string[] }> = [];
  const stub = (home: string): Pick<ObjectRpc, "deliver" | "relayBatch"> => ({
    deliver: async (_ref, frames) => {
      passedOn.push({ home, kind: "deliver", to: frames.map((f) => f.to) });
      return [];
    },
    relayBatch: async (items) => {
      passedOn.push({ home, kind: "relay", to: items.map((item) => item.to) });
      return items.map(() => true);
    },
  });
  const rosters: Roster[] = [];
  const claims = {
    resumesSettled: async () => {
      if (!arriving) return false;
      await arriving.met;
      byId.set(arriving.state.socketId, arriving.state);
      return true;
    },
  };
  const delivery = new LocalDelivery({
    held,
    keeper,
    claims,
    queues: new KeyedQueue(),
    rosters: { set: (_ref: unknown, roster: Roster) => void rosters.push(roster) } as unknown as Rosters,
    stubs: { get: stub },
    log: new Log(undefined, () => "test"),
  });
  return { delivery, sent, keptFrames, passedOn, rosters, state: (id: string) => byId.get(id) };
}

describe("the receiving end of an object", () => {
  it("relays only to a socket that is a member of the room, in the room's app", async () => {
    const object = objectHolding([member("bob", ["lobby"]), member("carol", ["other"]), member("dan", ["lobby"], "x")]);
    expect(await object.delivery.relay(ref, "bob", "f1")).toBe(true);
    expect(await object.delivery.relay(ref, "carol", "f2")).toBe(false);
    expect(await object.delivery.relay(ref, "dan", "f3")).toBe(false);
    expect(await object.delivery.relay(ref, "nobody", "f4")).toBe(false);
    expect(object.sent).toEqual({ bob: ["f1"] });
  });

  it("keeps a relay for a session waiting for its client, and passes one on to where a session moved", async () => {
    const object = objectHolding([], ["kept"], { moved: "object-2" });
    expect(await object.delivery.relay(ref, "kept", "f1")).toBe(true);
    expect(await object.delivery.relay(ref, "moved", "f2")).toBe(true);
    expect(object.keptFrames).toEqual({ kept: ["f1"] });
    expect(object.passedOn).toEqual([{ home: "object-2", kind: "relay", to: ["moved"] }]);
  });

  it("delivers a room's frames, applies membership changes, learns the roster and reports who is gone", async () => {
    const object = objectHolding([member("bob", []), member("carol", ["lobby"])], ["kept"], { m1: "o2", m2: "o2" });
    const roster = [["bob", "here"] as const];
    const missing = await object.delivery.deliver(
      ref,
      [
        { to: "bob", frame: "welcome", membership: "joined" },
        { to: "carol", frame: "news" },
        { to: "kept", frame: "for-later" },
        { to: "m1", frame: "a" },
        { to: "m2", frame: "b" },
        { to: "gone", frame: "c" },
      ],
      roster,
    );
    expect(missing).toEqual(["gone"]);
    expect(object.state("bob")?.rooms).toEqual(["lobby"]);
    expect(object.sent).toEqual({ bob: ["welcome"], carol: ["news"] });
    expect(object.keptFrames).toEqual({ kept: ["for-later"] });
    // Both moved sessions live in one other object: one RPC carries them.
    expect(object.passedOn).toEqual([{ home: "o2", kind: "deliver", to: ["m1", "m2"] }]);
    expect(object.rosters).toEqual([roster]);
  });

  it("gives a session on its way here (a claim under way) its events once the claim is met, not reporting it gone", async () => {
    let meet: () => void = () => {};
    const met = new Promise<void>((resolve) => (meet = resolve));
    const object = objectHolding([], [], {}, { state: member("alice", ["lobby"]), met });
    const delivered = object.delivery.deliver(ref, [
      { to: "alice", frame: "join" },
      { to: "nobody", frame: "x" },
      { to: "alice", frame: "offer" },
    ]);
    const relayed = object.delivery.relay(ref, "alice", "candidate");
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(object.sent).toEqual({});
    meet();
    expect(await delivered).toEqual(["nobody"]);
    expect(await relayed).toBe(true);
    // The room's frames in the room's order; the relay, from another sender, whenever it comes.
    expect(object.sent.alice?.filter((frame) => frame !== "candidate")).toEqual(["join", "offer"]);
    expect(object.sent.alice).toContain("candidate");
  });

  it("counts as present the sockets held here and the sessions kept here", () => {
    const object = objectHolding([member("bob", [])], ["kept"]);
    expect(object.delivery.present(["bob", "kept", "gone"])).toEqual(["bob", "kept"]);
  });
});
