import type { RoomAction } from "../../signaling/room-rules";
import type { Peer, RoomRef } from "../../signaling/room-store";
import type { Claim, HandedSessionWire } from "../recovery/claims";
import type { AuthorityReply } from "../room/authority-reply";
import type { OutgoingFrame } from "../room/outgoing-frames";
import type { Roster } from "./rosters";

/** One relay on its way to the object holding its receiver's socket: the frame is encoded already. */
export interface RelayItem {
  ref: RoomRef;
  to: string;
  frame: string;
}

/**
 * Everything one object asks of another over RPC, written once. The Durable
 * Object class implements it (src/durable/room-object.ts), so the compiler
 * checks each method there against it, and a stub of that class
 * (`DurableObjectStub<Room>`) is given to the jobs as this type with no cast:
 * a method whose signature drifts fails to compile at both ends.
 */
export interface ObjectRpc {
  /** Runs a request of `actor` in the room this object is for, and returns what the requester gets. */
  roomAction(ref: RoomRef, actor: Peer, action: RoomAction): Promise<AuthorityReply>;
  /**
   * Sends frames a room encoded to sockets held here, recording how their
   * membership changed, and the room's roster if it changed. Returns the ids
   * of sockets that are no longer here, so the room can let them go.
   */
  deliver(ref: RoomRef, frames: OutgoingFrame[], roster?: Roster): Promise<string[]>;
  /** One-hop relays from another object, in order; says which were delivered (the rest go by the room). */
  relayBatch(items: RelayItem[]): Promise<boolean[]>;
  /** Which of these sockets are held here, or kept for their clients to come back (a room's audit). */
  present(ids: string[]): Promise<string[]>;
  /** A reconnect landed in object `newHome` with the pid of a session born or kept here: hand it over, if it may have it. */
  claimSession(claim: Claim, newHome: string): Promise<HandedSessionWire | null>;
  /** A session born here ended where it lived: stop remembering where that was. */
  sessionEnded(pid: string): Promise<void>;
}
