import { describe, expect, it } from "vitest";
import { MeshGateway } from "../../src/durable/mesh/mesh-gateway";
import type { ObjectRpc, RelayItem } from "../../src/durable/mesh/object-rpc";
import type { RelayChannels } from "../../src/durable/mesh/relay-channels";
import { Rosters } from "../../src/durable/mesh/rosters";
import { Log } from "../../src/durable/runtime/log";
import type { ConnectionState } from "../../src/signaling/connection-state";
import type { RoomAction } from "../../src/signaling/room-rules";
import type { Peer } from "../../src/signaling/room-store";

const ref = { app: "demo", room: "lobby" };
const alice: Peer = { id: "alice", home: "here", peerinfo: null };
const relayTo = (to: string): RoomAction => ({ kind: "relay", what: "ice-candidate", to, body: {}, payload: null });

/**
 * A gateway in object "here" whose sockets relay to bob, held by object "there", over a fake
 * relay channel. `delivered`: what the channel answers for each relay (default: delivered).
 */
function gatewayToThere(delivered: () => Promise<boolean> = async () => true) {
  /** Every step, in the order made: "send" (awaited or not), "settled", or the room action's kind. */
  const calls: string[] = [];
  const there: Pick<ObjectRpc, "roomAction"> = {
    roomAction: async (_ref, _actor, action) => {
      calls.push(action.kind);
      return { outcome: { ok: true, data: {} }, reply: [] };
    },
  };
  const sent: RelayItem[] = [];
  const channels: Pick<RelayChannels, "send" | "settled"> = {
    send: (home, item, answerNow) => {
      calls.push(answerNow ? `send to ${home}, answer now` : `send to ${home}`);
      sent.push(item);
      return delivered();
    },
    settled: async () => {
      calls.push("settled");
    },
  };
  const rosters = new Rosters();
  const gateway = new MeshGateway({
    self: "here",
    selfId: { equals: () => false } as unknown as DurableObjectId,
    rooms: { idFromName: () => ({ equals: () => false }) as unknown as DurableObjectId, get: () => there },
    channels,
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
  return { gateway, sent, calls };
}

describe("the rooms gateway's one-hop relay", () => {
  it("sends a relay to its receiver's object over the channel and acks it when delivered", async () => {
    const { gateway, sent, calls } = gatewayToThere();
    const reply = await gateway.request(ref, alice, relayTo("bob"));
    expect((await reply.later)?.outcome.ok).toBe(true);
    expect(sent.map((item) => item.to)).toEqual(["bob"]);
    expect(sent[0]?.frame).toMatch(/^42\["ice-candidate",/);
    // Delivered by the one hop: the room was never asked (an undelivered relay would go to it).
    expect(calls).toEqual(["send to there"]);
  });

  it("asks for the answer at once when the client waits on the relay's ack", async () => {
    const { gateway, calls } = gatewayToThere();
    await gateway.request(ref, alice, relayTo("bob"), { awaited: true });
    expect(calls).toEqual(["send to there, answer now"]);
  });

  it("sends a relay its receiver's object did not deliver by the room", async () => {
    const { gateway, calls } = gatewayToThere(async () => false);
    const reply = await gateway.request(ref, alice, relayTo("bob"));
    await reply.later;
    expect(calls).toEqual(["send to there", "relay"]);
  });

  it("settles a peer's relays before its next room request leaves (no candidate after its sender's leave)", async () => {
    const { gateway, calls } = gatewayToThere();
    await gateway.request(ref, alice, relayTo("bob"));
    await gateway.request(ref, alice, { kind: "leave", payload: null });
    expect(calls).toEqual(["send to there", "settled", "leave"]);
  });
});
