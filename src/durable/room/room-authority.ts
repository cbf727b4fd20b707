import type { KvStore } from "../../signaling/kv-store";
import {
  applyRoomAction,
  type Delivery,
  expireRequests,
  type RoomAction,
  type RoomLimits,
  roomPeers,
} from "../../signaling/room-rules";
import { type Peer, type RoomRef, RoomStore } from "../../signaling/room-store";
import type { LocalDelivery } from "../mesh/local-delivery";
import type { ObjectRpc } from "../mesh/object-rpc";
import type { Roster } from "../mesh/rosters";
import { KeyedQueue } from "../runtime/keyed-queue";
import type { Log } from "../runtime/log";
import type { AuthorityReply } from "./authority-reply";
import { byHome, type OutgoingFrame } from "./outgoing-frames";

/** What the room needs from the object it lives in. */
export interface RoomHost {
  /** This object's id: deliveries to it need no RPC. */
  self: string;
  /** Other objects, by id: those holding its members' sockets. */
  stubs: { get(id: string): Pick<ObjectRpc, "deliver" | "present"> };
  /** The receiving end in this object, for members whose sockets are held here. */
  here: Pick<LocalDelivery, "deliver" | "present">;
  kv(): KvStore;
  limits(): RoomLimits;
  /** How long a join request waits for the owner (ms). */
  joinRequestTimeout(): number;
  /** How often a room checks that its peers' sockets still exist (ms): the ping interval. */
  upkeepInterval(): number;
  /** Keeps the object alive until `work` settles. */
  waitUntil(work: Promise<unknown>): void;
  /** Asks for an alarm no later than `at` (ms), not holding back the answer being sent. */
  wakeBy(at: number): Promise<void>;
  log: Log;
}

// The room this object is the authority for, recorded when it is created.
const REF_KEY = "object";
const REF_FIELD = "room";

/** At most one presence audit per room in this long, whatever the number of refused requests (ms). */
export const AUDIT_INTERVAL_MS = 10_000;

/**
 * The authority role of a room's Durable Object: applies the pure room rules
 * to its SQLite storage, and sends the events they cause, to sockets held
 * here directly and to other objects through one ordered outbox each.
 */
export class RoomAuthority {
  /** One ordered outbox per object the room delivers to. */
  readonly #outboxes = new KeyedQueue();
  /** When this instance last audited (ms); a fresh instance (after a restart, when ghosts are likely) audits at once. */
  #auditedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly host: RoomHost) {}

  /** Runs one request and returns what the requester gets. */
  async act(ref: RoomRef, actor: Peer, action: RoomAction, now: number): Promise<AuthorityReply> {
    // A create for a taken name, or a join or an accept for a full room, may be
    // refused because of ghosts: peers whose sockets vanished in a runtime
    // restart. Then, and at most once per AUDIT_INTERVAL_MS, ask their objects
    // first. Other requests never cost an RPC. (Asking first, not refusing and
    // retrying: an accept refused as full has already turned its candidate away.)
    if (this.#auditDue(now) && this.#ghostsCouldRefuse(ref, action)) await this.#audit(ref);
    const result = applyRoomAction({ kv: this.host.kv(), ref, now, limits: this.host.limits() }, actor, action);
    if (action.kind === "create" && result.outcome.ok) {
      // With when it began, which the room's deletion logs.
      this.host.kv().hset(REF_KEY, REF_FIELD, JSON.stringify({ app: ref.app, room: ref.room, createdAt: now }));
      this.host.log.line("room-created", { object: this.host.log.name(), app: ref.app });
      // A room, even one whose sockets all live elsewhere, has upkeep to do.
      this.host.waitUntil(this.host.wakeBy(now + this.host.upkeepInterval()));
    }
    // The last one out deleted the room: forget it now, not at the next upkeep.
    if (result.membership === "left" && new RoomStore(this.host.kv(), ref).owner() === null) this.forget();
    // A waiting request needs an alarm to time it out.
    if (action.kind === "join-request" && result.outcome.ok) {
      this.host.waitUntil(this.host.wakeBy(now + this.host.joinRequestTimeout()));
    }

    const membersChanged = result.outcome.ok && changesMembers(action);
    const roster = membersChanged ? this.#roster(ref) : undefined;
    // A recovered member's socket moved: every member's object learns where it is now.
    if (action.kind === "rehome" && roster) void this.#pushRoster(ref, roster);
    const welcome = result.deliveries.filter((d) => d.event === "room-join-accept");
    if (welcome.length === 0) {
      this.#dispatch(ref, result.deliveries, roster);
    } else {
      // The newcomer learns its peers only once they have heard of it: then
      // its offers (the newcomer offers, see docs/PROTOCOL.md) never reach a
      // peer before that peer's room-user-join, even on the one-hop relay path.
      const others = this.#dispatch(
        ref,
        result.deliveries.filter((d) => d.event !== "room-join-accept"),
        roster,
      );
      this.#dispatch(ref, welcome, roster, others);
    }

    const reply: AuthorityReply = { outcome: result.outcome, reply: result.reply };
    if (result.membership) reply.membership = result.membership;
    // The requester's object learns the members when they changed, or when it relayed through here (it did not know them).
    if (result.membership !== "left" && (membersChanged || (action.kind === "relay" && result.outcome.ok))) {
      reply.roster = roster ?? this.#roster(ref);
    }
    return reply;
  }

  /** The room this object holds, if it holds one. */
  ref(): RoomRef | null {
    const held = this.#held();
    return held && { app: held.app, room: held.room };
  }

  /** The room as stored, with when it was created (absent in rooms created before that was stored). */
  #held(): (RoomRef & { createdAt?: number }) | null {
    const value = this.host.kv().hget(REF_KEY, REF_FIELD);
    return value === null ? null : JSON.parse(value);
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
    void this.#dispatch(ref, expired.deliveries);

    await this.#audit(ref);
    const exists = this.ref() !== null && roomPeers(context).length > 0;
    if (!exists) this.forget();
    return { exists, nextExpiry: exists ? expired.nextExpiry : null };
  }

  /** Asks each object holding a peer of the room, all at once, whether the peer's socket is still there; lets the missing go. */
  async #audit(ref: RoomRef): Promise<void> {
    this.#auditedAt = Date.now();
    const byObject = new Map<string, string[]>();
    for (const peer of roomPeers({ kv: this.host.kv(), ref })) {
      byObject.set(peer.home, [...(byObject.get(peer.home) ?? []), peer.id]);
    }
    await Promise.all(
      Array.from(byObject, async ([home, ids]) => {
        let present: string[];
        try {
          present =
            home === this.host.self ? this.host.here.present(ids) : await this.host.stubs.get(home).present(ids);
        } catch (error) {
          console.error(`[${this.host.log.name()}] presence check of ${home} failed:`, error);
          return; // unknown is not gone
        }
        const here = new Set(present);
        this.peersGone(
          ref,
          ids.filter((id) => !here.has(id)),
        );
      }),
    );
  }

  /** Whether the rules would refuse `action` for a reason ghosts could cause: a taken name, a full room. */
  #ghostsCouldRefuse(ref: RoomRef, action: RoomAction): boolean {
    const room = new RoomStore(this.host.kv(), ref);
    if (action.kind === "create") return room.owner() !== null;
    const full = room.memberCount() >= this.host.limits().maxMembers;
    if (action.kind === "join-request") return full && room.owner() !== null;
    return action.kind === "join-answer" && action.accept && full;
  }

  #auditDue(now: number): boolean {
    return now - this.#auditedAt >= AUDIT_INTERVAL_MS;
  }

  /** Peers whose sockets are gone leave the room, as if they had disconnected. */
  peersGone(ref: RoomRef, ids: string[]): void {
    for (const id of ids) {
      this.host.log.line("peer-gone", { object: this.host.log.name(), socket: id });
      const result = applyRoomAction(
        { kv: this.host.kv(), ref, now: Date.now(), limits: this.host.limits() },
        { id, home: "", peerinfo: null },
        { kind: "drop" },
      );
      void this.#dispatch(ref, result.deliveries, result.membership === "left" ? this.#roster(ref) : undefined);
    }
    if (ids.length > 0 && roomPeers({ kv: this.host.kv(), ref }).length === 0) this.forget();
  }

  /** The room is gone: forget which room this object was. */
  forget(): void {
    const held = this.#held();
    if (!held || this.host.kv().hdel(REF_KEY, REF_FIELD) === 0) return;
    const fields: Record<string, unknown> = { object: this.host.log.name(), app: held.app };
    if (held.createdAt !== undefined) fields.seconds = Math.round((Date.now() - held.createdAt) / 1000);
    this.host.log.line("room-deleted", fields);
  }

  /**
   * Sends a request's events: to sockets held here at once, to other objects
   * through one ordered outbox per object. `after`: send nothing before it
   * settles (still in each outbox's order). Settles when all is sent.
   */
  #dispatch(ref: RoomRef, deliveries: Delivery[], roster?: Roster, after?: Promise<void>): Promise<void> {
    const sent: Promise<void>[] = [];
    for (const [home, frames] of byHome(deliveries)) sent.push(this.#dispatchTo(ref, home, frames, roster, after));
    return Promise.all(sent).then(() => undefined);
  }

  /** Frames (and the roster) for one object, in its outbox's order, after `after` if given. */
  #dispatchTo(
    ref: RoomRef,
    home: string,
    frames: OutgoingFrame[],
    roster?: Roster,
    after?: Promise<void>,
  ): Promise<void> {
    // An idle outbox starts at once: frames for this object's own sockets go out
    // within the request that caused them (deliverHere sends up to its first wait).
    const done = this.#outboxes
      .run(home, async () => {
        if (after) await after;
        return home === this.host.self
          ? this.host.here.deliver(ref, frames, roster)
          : this.host.stubs.get(home).deliver(ref, frames, roster);
      })
      .then(
        (missing) => this.peersGone(ref, missing),
        (error) => console.error(`[${this.host.log.name()}] delivery to ${home} failed:`, error),
      );
    this.host.waitUntil(done);
    return done;
  }

  /** Sends the roster, with no events, to the object of every member. */
  #pushRoster(ref: RoomRef, roster: Roster): Promise<void> {
    const homes = new Set(roster.map(([, home]) => home));
    return Promise.all(Array.from(homes, (home) => this.#dispatchTo(ref, home, [], roster))).then(() => undefined);
  }

  /** The members and the objects holding their sockets. */
  #roster(ref: RoomRef): Roster {
    return new RoomStore(this.host.kv(), ref).members().map((member) => [member.id, member.home] as const);
  }
}

/**
 * Whether a request changes who is in the room when it succeeds (then every
 * member's object gets the new roster). Exhaustive: a new kind of request
 * fails to compile here until it says.
 */
function changesMembers(action: RoomAction): boolean {
  switch (action.kind) {
    case "create":
    case "leave":
    case "drop":
    case "rehome":
      return true;
    case "join-answer":
      return action.accept;
    case "join-request":
    case "relay":
      return false;
    default:
      return unreachable(action);
  }
}

function unreachable(action: never): never {
  throw new Error(`unknown room action ${JSON.stringify(action)}`);
}
