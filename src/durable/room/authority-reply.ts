import type { RoomReply } from "../../signaling/room-requests";
import type { Roster } from "../mesh/rosters";

/**
 * What a requester's object gets back from a room: the requester's answer,
 * and, when the room's members changed or the request was a relay, the
 * members as they are now, so that object can relay straight to their
 * objects (src/durable/mesh/rosters.ts).
 */
export interface AuthorityReply extends RoomReply {
  roster?: Roster;
}
