import type { Env } from "../env";
import type { KvStore } from "../signaling/kv-store";
import type { RoomReply } from "../signaling/room-requests";
import {
  applyRoomAction,
  type Delivery,
  expireRequests,
  type RoomAction,
  type RoomLimits,
  roomPeers,
} from "../signaling/room-rules";
import type { Peer, RoomRef } from "../signaling/room-store";
import { byHome, type OutgoingFrame } from "./delivery";
import { log } from "./log";

/** What the room needs from the object it lives in. */
export interface RoomHost {
  env: Env;
  /** This object's id: deliveries to it need no RPC. */
  self: string;
  kv(): KvStore;
  limits(): RoomLimits;
  /** How long a join request waits for the owner (ms). */
  joinRequestTimeout(): number;
  /** How often a room checks that its peers' sockets still exist (ms): the ping interval. */
  upkeepInterval(): number;
  /** Sends frames to sockets held by this object; returns the ids no longer here. */
  deliverHere(room: string, frames: OutgoingFrame[]): string[];
  /** Ids among `ids` whose sockets this object holds. */
  presentHere(ids: string[]): string[];
  /** Keeps the object alive until `work` settles. */
  waitUntil(work: Promise<unknown>): void;
  /** Asks for an alarm no later than `at` (ms). */
  wakeBy(at: number): Promise<void>;
  name(): string;
}

// The room this object is the authority for, recorded when it is created.
const REF_KEY = "object";
const REF_FIELD = "room";

/**
 * The authority role of a room's Durable Object: applies the pure room rules
 * to its SQLite storage, and sends the events they cause, to sockets held
 * here directly and to other objects through one ordered outbox each.
 */
export class RoomAuthority {
  readonly #outboxes = new Map<string, Promise<unknown>>();

  constructor(private readonly host: RoomHost) {}

  /** Runs one request and returns what the requester gets. */
  async act(ref: RoomRef, actor: Peer, action: RoomAction, now: number): Promise<RoomReply> {
    // A create that would collide, or a request for the owner, first makes
    // sure the room's peers still exist: after a runtime restart they may all
    // be ghosts, and the room should be free (or handed over) right away.
    if ((action.kind === "create" || action.kind === "join-request") && this.#holds(ref)) await this.#audit(ref);
    const result = applyRoomAction({ kv: this.host.kv(), ref, now, limits: this.host.limits() }, actor, action);
    if (action.kind === "create" && result.outcome.ok) {
      this.host.kv().hset(REF_KEY, REF_FIELD, JSON.stringify(ref));
      log("room-created", { object: this.host.name(), app: ref.app });
      // A room, even one whose sockets all live elsewhere, has upkeep to do.
      this.host.waitUntil(this.host.wakeBy(now + this.host.upkeepInterval()));
    }
    // A waiting request needs an alarm to time it out.
    if (action.kind === "join-request" && result.outcome.ok) {
      this.host.waitUntil(this.host.wakeBy(now + this.host.joinRequestTimeout()));
    }
    this.#dispatch(ref, result.deliveries);
    const reply: RoomReply = { outcome: result.outcome, reply: result.reply };
    if (result.membership) reply.membership = result.membership;
    return reply;
  }

  /** The room this object holds, if it holds one. */
  ref(): RoomRef | null {
    const value = this.host.kv().hget(REF_KEY, REF_FIELD);
    return value === null ? null : (JSON.parse(value) as RoomRef);
  }

  /**
   * Periodic upkeep: turns away requests that waited too long, and lets go
   * of peers whose sockets vanished without a goodbye (a runtime restart, a
   * crash). Returns when the next request expires, and whether the room
   * still exists.
   */
  async upkeep(now: number): Promise<{ exists: boolean; nextExpiry: number | null }> {
    const ref = this.ref();
    if (!ref) return { exists: false, nextExpiry: null };
    const context = { kv: this.host.kv(), ref, now, limits: this.host.limits() };
    const expired = expireRequests(context, this.host.joinRequestTimeout());
    this.#dispatch(ref, expired.deliveries);

    await this.#audit(ref);
    const exists = this.ref() !== null && roomPeers(context).length > 0;
    if (!exists) this.forget();
    return { exists, nextExpiry: exists ? expired.nextExpiry : null };
  }

  /** Asks each object holding a peer of the room whether the peer's socket is still there; lets the missing go. */
  async #audit(ref: RoomRef): Promise<void> {
    const byObject = new Map<string, string[]>();
    for (const peer of roomPeers({ kv: this.host.kv(), ref })) {
      byObject.set(peer.home, [...(byObject.get(peer.home) ?? []), peer.id]);
    }
    for (const [home, ids] of byObject) {
      let present: string[];
      try {
        present = home === this.host.self ? this.host.presentHere(ids) : await this.#stub(home).present(ids);
      } catch (error) {
        console.error(`[${this.host.name()}] presence check of ${home} failed:`, error);
        continue; // unknown is not gone
      }
      const here = new Set(present);
      this.peersGone(
        ref,
        ids.filter((id) => !here.has(id)),
      );
    }
  }

  #holds(ref: RoomRef): boolean {
    const held = this.ref();
    return held !== null && held.app === ref.app && held.room === ref.room;
  }

  /** Peers whose sockets are gone leave the room, as if they had disconnected. */
  peersGone(ref: RoomRef, ids: string[]): void {
    for (const id of ids) {
      log("peer-gone", { object: this.host.name(), socket: id });
      const result = applyRoomAction(
        { kv: this.host.kv(), ref, now: Date.now(), limits: this.host.limits() },
        { id, home: "", peerinfo: null },
        { kind: "drop" },
      );
      this.#dispatch(ref, result.deliveries);
    }
    if (ids.length > 0 && roomPeers({ kv: this.host.kv(), ref }).length === 0) this.forget();
  }

  /** The room is gone: forget which room this object was. */
  forget(): void {
    if (this.host.kv().hdel(REF_KEY, REF_FIELD) > 0) log("room-deleted", { object: this.host.name() });
  }

  #dispatch(ref: RoomRef, deliveries: Delivery[]): void {
    for (const [home, frames] of byHome(deliveries)) {
      if (home === this.host.self) {
        this.peersGone(ref, this.host.deliverHere(ref.room, frames));
        continue;
      }
      // One outbox per object keeps the events for its sockets in order.
      const previous = this.#outboxes.get(home) ?? Promise.resolve();
      const sent = previous
        .then(() => this.#stub(home).deliver(ref.room, frames))
        .then(
          (missing) => this.peersGone(ref, missing),
          (error) => console.error(`[${this.host.name()}] delivery to ${home} failed:`, error),
        );
      this.#outboxes.set(home, sent);
      this.host.waitUntil(sent);
      void sent.finally(() => {
        if (this.#outboxes.get(home) === sent) this.#outboxes.delete(home);
      });
    }
  }

  #stub(home: string) {
    return this.host.env.ROOMS.get(this.host.env.ROOMS.idFromString(home));
  }
}
