import { describe, expect, it } from "vitest";
import { type RelayItem, RoomsGateway } from "../../src/durable/rooms-gateway";
import type { RoomAction } from "../../src/signaling/room-rules";
import type { Peer } from "../../src/signaling/room-store";

const ref = { app: "demo", room: "lobby" };
const alice: Peer = { id: "alice", home: "here", peerinfo: null };
const relayTo = (to: string): RoomAction => ({ kind: "relay", what: "ice-candidate", to, body: {}, payload: null });

/** A gateway in object "here" whose sockets relay to bob, held by object "there", over a fake RPC. */
function gatewayToThere() {
  const batches: RelayItem[][] = [];
  /** Every RPC, in the order made: "relayBatch" or the room action's kind. */
  const calls: string[] = [];
  const gateway = new RoomsGateway({
    self: "here",
    isSelf: () => false,
    idFromName: (name) => name as unknown as DurableObjectId,
    stub: () => ({
      roomAction: async (_ref, _actor, action) => {
        calls.push(action.kind);
        return { outcome: { ok: true, data: {} }, reply: [] };
      },
      relayBatch: async (items) => {
        calls.push("relayBatch");
        batches.push(items);
        return items.map(() => true);
      },
    }),
    actHere: async () => {
      throw new Error("not the room's object");
    },
    memberHere: () => true,
    relayHere: async () => false,
    name: () => "here",
  });
  gateway.learn(ref, [
    ["alice", "here"],
    ["bob", "there"],
  ]);
  return { gateway, batches, calls };
}

describe("the rooms gateway's one-hop relay", () => {
  it("carries the relays of one turn to an object in one RPC, in order, and acks each when delivered", async () => {
    const { gateway, batches } = gatewayToThere();
    const replies = await Promise.all([1, 2, 3].map(() => gateway.request(ref, alice, relayTo("bob"))));
    expect(batches).toHaveLength(0); // nothing leaves before the turn ends
    const acks = await Promise.all(replies.map((reply) => reply.later));
    expect(batches).toHaveLength(1);
    expect(batches[0]?.map((item) => item.to)).toEqual(["bob", "bob", "bob"]);
    expect(acks.map((ack) => ack?.outcome.ok)).toEqual([true, true, true]);
  });

  it("delivers a peer's waiting relays before its next room request leaves (no candidate after its sender's leave)", async () => {
    const { gateway, calls } = gatewayToThere();
    const relay = await gateway.request(ref, alice, relayTo("bob"));
    await gateway.request(ref, alice, { kind: "leave", payload: null });
    expect(calls).toEqual(["relayBatch", "leave"]);
    expect((await relay.later)?.outcome.ok).toBe(true);
  });

  it("sends what queued during an RPC in the next one", async () => {
    const { gateway, batches } = gatewayToThere();
    const first = await gateway.request(ref, alice, relayTo("bob"));
    await first.later;
    const second = await gateway.request(ref, alice, relayTo("bob"));
    await second.later;
    expect(batches.map((batch) => batch.length)).toEqual([1, 1]);
  });
});
