import { describe, expect, it, vi } from "vitest";
import { MeshGateway } from "../../src/durable/mesh/mesh-gateway";
import type { ObjectRpc, RelayItem } from "../../src/durable/mesh/object-rpc";
import { Rosters } from "../../src/durable/mesh/rosters";
import { Log } from "../../src/durable/runtime/log";
import type { ConnectionState } from "../../src/signaling/connection-state";
import type { RoomAction } from "../../src/signaling/room-rules";
import type { Peer } from "../../src/signaling/room-store";

const ref = { app: "demo", room: "lobby" };
const alice: Peer = { id: "alice", home: "here", peerinfo: null };
const relayTo = (to: string): RoomAction => ({ kind: "relay", what: "ice-candidate", to, body: {}, payload: null });

/**
 * A gateway in object "here" whose sockets relay to bob, held by object "there", over a fake RPC.
 * `answered`: each relayBatch RPC waits for it before answering (default: answers at once).
 */
function gatewayToThere(answered: () => Promise<void> = async () => {}, batchFails = false) {
  const batches: RelayItem[][] = [];
  /** Every RPC, in the order made: "relayBatch" or the room action's kind. */
  const calls: string[] = [];
  const there: Pick<ObjectRpc, "roomAction" | "relayBatch"> = {
    roomAction: async (_ref, _actor, action) => {
      calls.push(action.kind);
      return { outcome: { ok: true, data: {} }, reply: [] };
    },
    relayBatch: async (items) => {
      calls.push("relayBatch");
      batches.push(items);
      await answered();
      if (batchFails) throw new Error("the receiver's object is unreachable");
      return items.map(() => true);
    },
  };
  const rosters = new Rosters();
  const gateway = new MeshGateway({
    self: "here",
    selfId: { equals: () => false } as unknown as DurableObjectId,
    rooms: { idFromName: () => ({ equals: () => false }) as unknown as DurableObjectId, get: () => there },
    stubs: { get: () => there },
    room: {
      act: async () => {
        throw new Error("not the room's object");
      },
    },
    held: { live: () => ({ ws: {} as WebSocket, tag: "alice", state: { rooms: [ref.room] } as ConnectionState }) },
    here: { relay: async () => false },
    rosters,
    log: new Log(undefined, () => "here"),
  });
  rosters.set(ref, [
    ["alice", "here"],
    ["bob", "there"],
  ]);
  return { gateway, batches, calls };
}

describe("the rooms gateway's one-hop relay", () => {
  it("carries the relays of one turn to an object in one RPC, in order, and acks each when delivered", async () => {
    const { gateway, batches, calls } = gatewayToThere();
    const replies = await Promise.all([1, 2, 3].map(() => gateway.request(ref, alice, relayTo("bob"))));
    expect(batches).toHaveLength(0); // nothing leaves before the turn ends
    const acks = await Promise.all(replies.map((reply) => reply.later));
    expect(batches).toHaveLength(1);
    expect(batches[0]?.map((item) => item.to)).toEqual(["bob", "bob", "bob"]);
    expect(acks.map((ack) => ack?.outcome.ok)).toEqual([true, true, true]);
    // Delivered by the one hop: the room was never asked (an undelivered relay would go to it).
    expect(calls).toEqual(["relayBatch"]);
  });

  it("does not ack as delivered the relays of a batch RPC that failed: they go by the room", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const { gateway, calls } = gatewayToThere(async () => {}, true);
    const replies = await Promise.all([1, 2].map(() => gateway.request(ref, alice, relayTo("bob"))));
    await Promise.all(replies.map((reply) => reply.later));
    expect(calls).toEqual(["relayBatch", "relay", "relay"]);
  });

  it("delivers a peer's waiting relays before its next room request leaves (no candidate after its sender's leave)", async () => {
    const { gateway, calls } = gatewayToThere();
    const relay = await gateway.request(ref, alice, relayTo("bob"));
    await gateway.request(ref, alice, { kind: "leave", payload: null });
    expect(calls).toEqual(["relayBatch", "leave"]);
    expect((await relay.later)?.outcome.ok).toBe(true);
  });

  it("sends what queued during an RPC in the next one, one RPC at a time", async () => {
    let answer: () => void = () => {};
    const { gateway, batches } = gatewayToThere(() => new Promise<void>((resolve) => (answer = resolve)));
    const first = await gateway.request(ref, alice, relayTo("bob"));
    while (batches.length === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    // The first RPC is on its way: these two wait for it, then travel together.
    const queued = await Promise.all([1, 2].map(() => gateway.request(ref, alice, relayTo("bob"))));
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(batches.map((batch) => batch.length)).toEqual([1]);
    answer();
    await first.later;
    while (batches.length < 2) await new Promise((resolve) => setTimeout(resolve, 1));
    answer();
    await Promise.all(queued.map((reply) => reply.later));
    expect(batches.map((batch) => batch.length)).toEqual([1, 2]);
  });

  it("sends a relay at once, not at the turn's end, once relays to that object come one at a time", async () => {
    const { gateway, batches } = gatewayToThere();
    // Ping-pong: each relay alone, answered before the next. The first two wait for the turn's end.
    for (let i = 0; i < 2; i++) await (await gateway.request(ref, alice, relayTo("bob"))).later;
    expect(batches).toHaveLength(2);
    const third = await gateway.request(ref, alice, relayTo("bob"));
    expect(batches).toHaveLength(3); // left with no wait for the turn
    expect((await third.later)?.outcome.ok).toBe(true);
  });

  it("waits for the turn's end again once relays to that object come together", async () => {
    let answer: () => void = () => {};
    let held = false;
    const { gateway, batches } = gatewayToThere(() =>
      held ? new Promise<void>((resolve) => (answer = resolve)) : Promise.resolve(),
    );
    for (let i = 0; i < 2; i++) await (await gateway.request(ref, alice, relayTo("bob"))).later;
    held = true;
    const lone = await gateway.request(ref, alice, relayTo("bob")); // at once, and its RPC is held
    const behind = await gateway.request(ref, alice, relayTo("bob")); // queued behind it
    expect(batches.map((batch) => batch.length)).toEqual([1, 1, 1]);
    held = false;
    answer();
    await Promise.all([lone.later, behind.later]);
    expect(batches.map((batch) => batch.length)).toEqual([1, 1, 1, 1]);
    // Relays came together: the next ones wait for the turn's end and share one RPC.
    const together = await Promise.all([1, 2, 3].map(() => gateway.request(ref, alice, relayTo("bob"))));
    expect(batches).toHaveLength(4);
    await Promise.all(together.map((reply) => reply.later));
    expect(batches.map((batch) => batch.length)).toEqual([1, 1, 1, 1, 3]);
  });
});
