import type { ConnectionState } from "../../signaling/connection-state";
import { applyMembership } from "../../signaling/membership";
import type { MembershipChange } from "../../signaling/room-rules";
import type { RoomRef } from "../../signaling/room-store";
import { type EventLogLimits, newPid, pidHome, withOffset } from "../../socket/recovery";
import type { ObjectRpc } from "../mesh/object-rpc";
import type { Log } from "../runtime/log";
import type { HeldSockets } from "../sockets/held-sockets";
import { joinRequestCandidate, MAX_OWED_NOTES, owedNotice, owedOf } from "./owed-notices";
import type { SessionLogs } from "./session-logs";
import { type SessionStore, type StoredSession, storedSession } from "./session-store";

/** Bounds of what the dropped sessions of one object keep, all together. */
export interface ObjectBounds {
  maxSessions: number;
  maxBytes: number;
}

/** What the keeper needs from its object. */
export interface KeeperHost {
  /** This object's id. */
  self: string;
  store(): SessionStore;
  logs: SessionLogs;
  /** How long a dropped session waits for its client (ms). */
  window: number;
  /** One session's budget: what it keeps before and after a drop, together. */
  limits: EventLogLimits;
  objectBounds: ObjectBounds;
  /** The sockets held here: whether a session is connected. */
  held: Pick<HeldSockets, "isHeld">;
  /** Other objects, by id: where sessions were born. */
  stubs: { get(id: string): Pick<ObjectRpc, "sessionEnded"> };
  alarms: { wakeBy(at: number): Promise<void> };
  log: Log;
}

/**
 * An object's dropped recoverable sessions, waiting in storage for their
 * clients (so a restart or hibernation keeps them): what they keep, their
 * bounds, their end. Claims of them are src/durable/recovery/session-claims.ts.
 * See docs/PROTOCOL.md "Connection state recovery" for the rules.
 *
 * It never calls back into the jobs above it: a session that ends while
 * kept (its window passed, it missed too much) is handed to the alarm's
 * caller to let go of its rooms.
 */
export class SessionKeeper {
  /** Sessions that ended while kept, for the alarm to let go of their rooms (it is asked to come at once). */
  readonly #ended: ConnectionState[] = [];

  constructor(private readonly host: KeeperHost) {}

  /** A pid for a new session born here. */
  newPid(): string {
    return newPid(this.host.self);
  }

  /**
   * The socket dropped without a goodbye: keep the session for the window,
   * with the last events it was sent (some may never have arrived), in half
   * its budget; the other half is for what it misses. False when it cannot
   * be kept (never proved its app, or the object keeps its most already).
   */
  async detach(state: ConnectionState, now: number): Promise<boolean> {
    const session = this.host.logs.take(state.socketId);
    if (!session || !state.pid || state.app === null) return false;
    const { limits, objectBounds } = this.host;
    session.log.keepNewest({ maxEvents: Math.floor(limits.maxEvents / 2), maxBytes: Math.floor(limits.maxBytes / 2) });
    const store = this.host.store();
    let kept = store.keptTotals();
    if (kept.sessions >= objectBounds.maxSessions && hasRooms(state)) {
      // A session with rooms to come back to outranks one in none: strangers holding the app token
      // must not fill the bound with sessions that have nothing to keep.
      const roomless = store.oldestRoomless();
      if (roomless) {
        this.host.log.line("session-expired", { socket: roomless.state.socketId, reason: "gave way" });
        await this.#endKept(roomless);
        kept = store.keptTotals();
      }
    }
    if (kept.sessions >= objectBounds.maxSessions || kept.bytes + session.log.bytes > objectBounds.maxBytes) {
      this.host.log.line("session-not-kept", { socket: state.socketId, reason: "object full", kept: kept.sessions });
      return false;
    }
    const expiresAt = now + this.host.window;
    store.saveEvents(state.pid, session.log.events);
    store.save({
      ...storedSession(state, session.log.next, { at: now, until: expiresAt }),
      keptCount: session.log.events.length,
      keptBytes: session.log.bytes,
    });
    this.host.log.line("session-kept", { socket: state.socketId, until: expiresAt });
    await this.host.alarms.wakeBy(expiresAt);
    return true;
  }

  /** The session ended with a goodbye (or could not be kept): forget it. */
  async end(state: ConnectionState): Promise<void> {
    this.host.logs.take(state.socketId);
    if (!state.pid) return;
    this.host.store().delete(state.pid);
    await this.#tellBirthplace(state.pid);
  }

  /** Whether `socketId` is a session dropped here and still waiting for its client. */
  waiting(socketId: string): boolean {
    return this.#dropped(socketId) !== null;
  }

  /**
   * Keeps an event for a dropped session, applying the membership change it
   * carries. False when there is no such session, or it just passed its
   * bounds: then it ends, and the next sweep hands it over to leave its rooms.
   */
  async keep(socketId: string, frame: string, room?: string, change?: MembershipChange): Promise<boolean> {
    const session = this.#dropped(socketId);
    if (!session) return false;
    const state = room !== undefined && change ? applyMembership(session.state, room, change) : session.state;
    // A join request stays in the room: the session keeps only a note to be told of it again.
    const candidate = room !== undefined ? joinRequestCandidate(frame) : null;
    if (candidate !== null) return this.#note(session, state, owedNotice(room as string, candidate));
    return this.#keepFor(session, state, frame);
  }

  /**
   * Notes a join request the dropped session was not told of. Notes do not
   * count against its budget (a crowd of candidates must not end it): each
   * request is noted once, and only the newest {@link MAX_OWED_NOTES} are
   * kept (the room tells only of requests still waiting anyway).
   */
  #note(session: StoredSession, state: ConnectionState, note: string): boolean {
    const store = this.host.store();
    const notes = store.events(session.pid).filter((event) => owedOf(event.frame) !== null);
    if (notes.some((event) => event.frame === note)) return true;
    for (const old of notes.slice(0, Math.max(0, notes.length - MAX_OWED_NOTES + 1))) {
      store.deleteEvent(session.pid, old.offset);
    }
    store.addEvent(session.pid, { offset: session.next, frame: note });
    store.save({ ...session, state, next: session.next + 1 });
    return true;
  }

  /** Keeps a relay for a dropped session, if it is a member of the relay's room. */
  async keepRelay(ref: RoomRef, socketId: string, frame: string): Promise<boolean> {
    const session = this.#dropped(socketId);
    if (!session || session.state.app !== ref.app || !session.state.rooms.includes(ref.room)) return false;
    return this.#keepFor(session, session.state, frame);
  }

  /** The session of `socketId`, if it was dropped here and waits for its client. */
  #dropped(socketId: string): StoredSession | null {
    const session = this.host.store().bySocket(socketId);
    return session && session.expiresAt !== null && !this.host.held.isHeld(socketId) ? session : null;
  }

  async #keepFor(session: StoredSession, state: ConnectionState, frame: string): Promise<boolean> {
    const event = { offset: session.next, frame: withOffset(frame, String(session.next)) };
    // One budget per session, counting what it kept from before the drop; and one for the object.
    const keptCount = session.keptCount + 1;
    const keptBytes = session.keptBytes + event.frame.length;
    const { limits, objectBounds } = this.host;
    const store = this.host.store();
    const overObject = store.keptTotals().bytes + event.frame.length > objectBounds.maxBytes;
    if (keptCount > limits.maxEvents || keptBytes > limits.maxBytes || overObject) {
      this.host.log.line("session-overflowed", { socket: state.socketId, kept: keptCount, object: overObject });
      await this.#endKept({ ...session, state });
      return false;
    }
    store.addEvent(session.pid, event);
    store.save({ ...session, state, next: session.next + 1, keptCount, keptBytes });
    return true;
  }

  /** Where the session of `socketId` went, if it moved away from here. */
  movedTo(socketId: string): string | null {
    return this.host.store().movedBySocket(socketId)?.movedTo ?? null;
  }

  /** A session born here ended elsewhere: forget where it went. */
  forgetMoved(pid: string): void {
    this.host.store().forgetMoved(pid);
  }

  /**
   * Ends dropped sessions whose window passed, and notices sessions that
   * storage says are connected but no socket holds (their object restarted:
   * every WebSocket was cut without a close event): they wait from now, and
   * what they were sent just before the restart is lost. Returns when the
   * next one expires, or null.
   */
  async sweep(now: number): Promise<number | null> {
    const store = this.host.store();
    let next: number | null = null;
    for (const session of store.all()) {
      if (this.host.held.isHeld(session.state.socketId)) continue;
      let { expiresAt } = session;
      if (expiresAt === null) {
        expiresAt = now + this.host.window;
        // Offsets jump, so none repeats one the client saw before the restart.
        store.save({ ...session, detachedAt: now, expiresAt, lossy: true, next: session.next + 1_000_000 });
        this.host.log.line("session-kept", { socket: session.state.socketId, until: expiresAt, restarted: true });
      } else if (expiresAt <= now) {
        this.host.log.line("session-expired", { socket: session.state.socketId });
        await this.#endKept(session);
        continue;
      }
      next = next === null ? expiresAt : Math.min(next, expiresAt);
    }
    for (const moved of store.allMoved()) {
      if (moved.expiresAt <= now) store.forgetMoved(moved.pid);
      else next = next === null ? moved.expiresAt : Math.min(next, moved.expiresAt);
    }
    return next;
  }

  /**
   * The sessions that ended while kept since the last call: their rooms must
   * let them go, which the keeper does not reach itself.
   */
  takeEnded(): ConnectionState[] {
    return this.#ended.splice(0);
  }

  /** Whether this object keeps no session, dropped or moved: nothing of recovery is left to store. */
  isEmpty(): boolean {
    return this.host.store().isEmpty();
  }

  /** A kept session ends: forgotten here and where it was born; its rooms let it go at the next sweep. */
  async #endKept(session: StoredSession): Promise<void> {
    this.host.store().delete(session.pid);
    this.#ended.push(session.state);
    await this.host.alarms.wakeBy(Date.now());
    await this.#tellBirthplace(session.pid);
  }

  /** Tells the object a session was born at, if not this one, that it ended. */
  async #tellBirthplace(pid: string): Promise<void> {
    const born = pidHome(pid);
    if (!born || born === this.host.self) return;
    await (async () => this.host.stubs.get(born).sessionEnded(pid))().catch(() => undefined);
  }
}

/** Whether a session is in a room or asks to join one: what a recovery gives back. */
function hasRooms(state: ConnectionState): boolean {
  return state.rooms.length > 0 || state.requested.length > 0;
}
