import { applyMembership } from "../../signaling/membership";
import type { RoomRef } from "../../signaling/room-store";
import type { SessionKeeper } from "../recovery/session-keeper";
import type { OutgoingFrame } from "../room/outgoing-frames";
import type { Log } from "../runtime/log";
import type { HeldSockets } from "../sockets/held-sockets";
import type { ObjectRpc } from "./object-rpc";
import type { Roster, Rosters } from "./rosters";

/** What the receiving end needs from its object. */
export interface DeliveryHost {
  held: HeldSockets;
  keeper: Pick<SessionKeeper, "keep" | "keepRelay" | "movedTo" | "waiting">;
  /** What this object knows of its rooms' members, for one-hop relays from sockets held here. */
  rosters: Rosters;
  /** Other objects, by id: where sessions moved to. */
  stubs: { get(id: string): Pick<ObjectRpc, "deliver" | "relayBatch"> };
  log: Log;
}

/**
 * The receiving end, in the object holding the sockets: a room's events and
 * other objects' one-hop relays reach their sockets here. An event for a
 * recoverable session waiting for its client is kept for it; one for a
 * session that moved to another object is passed on.
 */
export class LocalDelivery {
  constructor(private readonly host: DeliveryHost) {}

  /**
   * Sends a room's frames to sockets held here, recording membership changes
   * and the room's roster if given. Returns the ids that are gone, so the
   * room can let them go.
   */
  async deliver(ref: RoomRef, frames: OutgoingFrame[], roster?: Roster): Promise<string[]> {
    const { held, keeper } = this.host;
    if (roster) this.host.rosters.set(ref, roster);
    const room = ref.room;
    const missing: string[] = [];
    const elsewhere = new Map<string, OutgoingFrame[]>();
    for (const item of frames) {
      const socket = held.live(item.to);
      const change = item.membership;
      if (socket) {
        // Only a membership change needs to write the connection's state; a relay just sends.
        const state = change
          ? held.update(socket.ws, socket.tag, (current) => applyMembership(current, room, change))
          : socket.state;
        if (!state || !held.send(socket.ws, state, item.frame)) missing.push(item.to);
        continue;
      }
      if (await keeper.keep(item.to, item.frame, room, change)) continue;
      const movedTo = keeper.movedTo(item.to);
      if (movedTo) elsewhere.set(movedTo, [...(elsewhere.get(movedTo) ?? []), item]);
      else missing.push(item.to);
    }
    for (const [home, items] of elsewhere) {
      try {
        missing.push(...(await this.host.stubs.get(home).deliver(ref, items, roster)));
      } catch (error) {
        console.error(`[${this.host.log.name()}] passing on to ${home} failed:`, error);
      }
    }
    return missing;
  }

  /**
   * The receiving end of a one-hop relay: sent if `to`'s socket is here and
   * a member; kept if `to`'s session is waiting for its client and a member;
   * passed on if the session moved to another object. False otherwise (the
   * sender then asks the room).
   */
  async relay(ref: RoomRef, to: string, frame: string): Promise<boolean> {
    const { held, keeper } = this.host;
    const socket = held.live(to);
    if (socket) {
      const receiver = socket.state;
      if (receiver?.app !== ref.app || !receiver.rooms.includes(ref.room)) return false;
      return held.send(socket.ws, receiver, frame);
    }
    if (await keeper.keepRelay(ref, to, frame)) return true;
    const movedTo = keeper.movedTo(to);
    if (!movedTo) return false;
    const [delivered] = await this.host.stubs.get(movedTo).relayBatch([{ ref, to, frame }]);
    return delivered === true;
  }

  /** Those of `ids` whose sockets are held here, or whose sessions are kept here for their clients. */
  present(ids: string[]): string[] {
    return ids.filter((id) => this.host.held.byId(id) !== undefined || this.host.keeper.waiting(id));
  }
}
