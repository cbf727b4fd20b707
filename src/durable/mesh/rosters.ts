import type { RoomRef } from "../../signaling/room-store";

/** A room's members as one object last heard them from the room: member id -> id of the object holding its socket. */
export type Roster = ReadonlyArray<readonly [id: string, home: string]>;

/**
 * What an object knows of the members of the rooms its sockets are in, so a
 * relay can go from the sender's object straight to the receiver's, without
 * passing through the room's object.
 *
 * It is a cache, in memory only: the room sends a fresh roster with every
 * membership change it delivers here (its deliveries to one object are
 * ordered, so the last one received is the newest), and a relay that finds no
 * entry takes the room's path instead, whose answer brings the roster back.
 * Being stale is never unsafe: the receiver's object checks the receiver's
 * own membership before it delivers, and a refusal falls back to the room.
 */
export class Rosters {
  readonly #byRoom = new Map<string, Map<string, string>>();

  /** Replaces what is known of `ref`'s members. */
  set(ref: RoomRef, roster: Roster): void {
    this.#byRoom.set(key(ref), new Map(roster));
  }

  /** The object holding `member`'s socket, if `member` is known to be in the room. */
  homeOf(ref: RoomRef, member: string): string | undefined {
    return this.#byRoom.get(key(ref))?.get(member);
  }

  /** None of this object's sockets is in the room any more. */
  forget(ref: RoomRef): void {
    this.#byRoom.delete(key(ref));
  }
}

function key(ref: RoomRef): string {
  return JSON.stringify([ref.app, ref.room]);
}
