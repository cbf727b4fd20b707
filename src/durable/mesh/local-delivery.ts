import { applyMembership } from "../../signaling/membership";
import type { RoomRef } from "../../signaling/room-store";
import type { SessionClaims } from "../recovery/session-claims";
import type { SessionKeeper } from "../recovery/session-keeper";
import type { OutgoingFrame } from "../room/outgoing-frames";
import type { KeyedQueue } from "../runtime/keyed-queue";
import type { Log } from "../runtime/log";
import type { HeldSockets } from "../sockets/held-sockets";
import type { ObjectRpc } from "./object-rpc";
import type { Roster, Rosters } from "./rosters";

type LiveSocket = NonNullable<ReturnType<HeldSockets["live"]>>;

/** What the receiving end needs from its object. */
export interface DeliveryHost {
  held: HeldSockets;
  keeper: Pick<SessionKeeper, "keep" | "keepRelay" | "movedTo" | "waiting">;
  /** Claims under way here: a session on its way to this object waits for them. */
  claims: Pick<SessionClaims, "resumesSettled">;
  /** Each socket's frame queue: what reaches a session on its way here waits for its CONNECT answer. */
  queues: Pick<KeyedQueue, "run">;
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
    const unplaced: OutgoingFrame[] = [];
    for (const item of frames) {
      const socket = held.live(item.to);
      if (socket) {
        if (!this.#sendTo(socket, room, item)) missing.push(item.to);
        continue;
      }
      if (await keeper.keep(item.to, item.frame, room, item.membership)) continue;
      const movedTo = keeper.movedTo(item.to);
      if (movedTo) elsewhere.set(movedTo, [...(elsewhere.get(movedTo) ?? []), item]);
      else unplaced.push(item);
    }
    // A session may be on its way here (a reconnect claimed it from another object, which already
    // passes its events on): once the claims under way are met, its new socket gets them, after its
    // CONNECT answer and what it missed (its frame queue). Otherwise the room learns they are gone.
    if (unplaced.length > 0 && (await this.host.claims.resumesSettled())) {
      // Queued all at once, so each socket gets them in the room's order.
      const sent = await Promise.all(
        unplaced.map((item) => {
          const tag = held.live(item.to)?.tag;
          if (!tag) return false;
          return this.host.queues.run(tag, async () => {
            const socket = held.live(item.to);
            return socket !== null && this.#sendTo(socket, room, item);
          });
        }),
      );
      for (const [i, item] of unplaced.entries()) if (!sent[i]) missing.push(item.to);
    } else {
      missing.push(...unplaced.map((item) => item.to));
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
    const now = this.relayNow(ref, to, frame);
    if (now !== undefined) return now;
    if (await keeper.keepRelay(ref, to, frame)) return true;
    const movedTo = keeper.movedTo(to);
    if (movedTo) {
      const [delivered] = await this.host.stubs.get(movedTo).relayBatch([{ ref, to, frame }]);
      return delivered === true;
    }
    // A session on its way here: as for a room's frames (deliver).
    const tag = (await this.host.claims.resumesSettled()) ? held.live(to)?.tag : undefined;
    if (!tag) return false;
    return this.host.queues.run(tag, async () => {
      const arrived = held.live(to);
      return arrived !== null && this.#relayTo(arrived, ref, frame);
    });
  }

  /**
   * The common case of {@link relay}, decided at once: `to`'s socket is held
   * here (sent, or refused if not a member). Undefined when only
   * {@link relay} can tell (a kept, moved or arriving session).
   */
  relayNow(ref: RoomRef, to: string, frame: string): boolean | undefined {
    const socket = this.host.held.live(to);
    return socket ? this.#relayTo(socket, ref, frame) : undefined;
  }

  /** Sends a room's frame to a socket held here, writing the membership change it carries. */
  #sendTo(socket: LiveSocket, room: string, item: OutgoingFrame): boolean {
    const change = item.membership;
    // Only a membership change needs to write the connection's state; a relay just sends.
    const state = change
      ? this.host.held.update(socket.ws, socket.tag, (current) => applyMembership(current, room, change))
      : socket.state;
    return state !== null && this.host.held.send(socket.ws, state, item.frame);
  }

  /** Sends a one-hop relay to a socket held here, if its peer is a member of the room as this object knows. */
  #relayTo(socket: LiveSocket, ref: RoomRef, frame: string): boolean {
    const receiver = socket.state;
    if (receiver?.app !== ref.app || !receiver.rooms.includes(ref.room)) return false;
    return this.host.held.send(socket.ws, receiver, frame);
  }

  /** Those of `ids` whose sockets are held here, or whose sessions are kept here for their clients. */
  present(ids: string[]): string[] {
    return ids.filter((id) => this.host.held.byId(id) !== undefined || this.host.keeper.waiting(id));
  }
}
