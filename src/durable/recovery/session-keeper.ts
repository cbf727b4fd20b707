import type { ConnectionState } from "../../signaling/connection-state";
import { applyMembership } from "../../signaling/membership";
import type { MembershipChange } from "../../signaling/room-rules";
import type { RoomRef } from "../../signaling/room-store";
import { EventLog, type EventLogLimits, newPid, pidHome, withOffset } from "../../socket/recovery";
import type { ObjectRpc } from "../mesh/object-rpc";
import type { Log } from "../runtime/log";
import { type Claim, fromWire, type HandedSession } from "./claims";
import type { SessionLogs } from "./session-logs";
import { type SessionStore, type StoredSession, storedSession } from "./session-store";

/** What the keeper needs from its object. */
export interface KeeperHost {
  /** This object's id. */
  self: string;
  store(): SessionStore;
  logs: SessionLogs;
  /** How long a dropped session waits for its client (ms). */
  window: number;
  limits: EventLogLimits;
  /** Whether a socket of this object currently holds `socketId`. */
  isHeld(socketId: string): boolean;
  /** Other objects, by id: where sessions were born, or moved to. */
  stubs: { get(id: string): Pick<ObjectRpc, "claimSession" | "sessionEnded"> };
  alarms: { wakeBy(at: number): Promise<void> };
  log: Log;
}

/** A session given up to a reconnect: the socket that held it here, if one still did, is to be closed. */
export interface HandOver {
  handed: HandedSession;
  superseded: string | null;
}

/** A session resumed here: whether it came from another object (its rooms must learn where it lives now). */
export interface Resumed extends HandOver {
  remote: boolean;
}

/** How long the object a session was born at remembers where it went (a reconnect asks there). */
const BIRTHPLACE_MEMORY_MS = 24 * 60 * 60 * 1000;

/**
 * An object's dropped recoverable sessions, waiting in storage for their
 * clients (so a restart keeps them), and the hand-over of a session to the
 * reconnect that claims it. See docs/PROTOCOL.md "Connection state recovery"
 * for what is durable when.
 *
 * It never calls back into the jobs above it: a session that ends while
 * kept (its window passed, it missed too much) is handed to the alarm's
 * caller to let go of its rooms, and a socket to close is named to the
 * caller of a hand-over.
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
   * with the events it was sent last (some may never have arrived).
   */
  async detach(state: ConnectionState, now: number): Promise<boolean> {
    const session = this.host.logs.take(state.socketId);
    if (!session || !state.pid) return false;
    const expiresAt = now + this.host.window;
    const store = this.host.store();
    store.saveEvents(state.pid, session.log.events);
    store.save(storedSession(state, session.log.next, { at: now, until: expiresAt }));
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
    return this.#keepFor(session, state, frame);
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
    return session && !this.host.isHeld(socketId) ? session : null;
  }

  async #keepFor(session: StoredSession, state: ConnectionState, frame: string): Promise<boolean> {
    const event = { offset: session.next, frame: withOffset(frame, String(session.next)) };
    // The bounds count what it missed since the drop, not the last events sent before it.
    const missedCount = session.missedCount + 1;
    const missedBytes = session.missedBytes + event.frame.length;
    if (missedCount > this.host.limits.maxEvents || missedBytes > this.host.limits.maxBytes) {
      this.host.log.line("session-overflowed", { socket: state.socketId, missed: missedCount });
      await this.#endKept({ ...session, state });
      return false;
    }
    const store = this.host.store();
    store.addEvent(session.pid, event);
    store.save({ ...session, state, next: session.next + 1, missedCount, missedBytes });
    return true;
  }

  /**
   * A reconnect in this object presents a pid: the session, if it may be
   * resumed, and where it was kept (here, or handed over by another object).
   */
  async resume(claim: Claim): Promise<Resumed | null> {
    const born = pidHome(claim.pid);
    if (born === null) return null;
    const pid = claim.pid as string;
    let over: HandOver | null;
    let remote = true;
    if (born !== this.host.self) {
      over = await this.#claimAt(born, claim);
    } else {
      const moved = this.host.store().movedByPid(pid);
      if (moved) {
        // Born here, kept elsewhere since: it comes home.
        over = await this.#claimAt(moved.movedTo, claim);
        if (over) this.host.store().forgetMoved(pid);
      } else {
        over = await this.handOver(claim, null);
        remote = false;
      }
    }
    if (!over) return null;
    const { state, next, missed } = over.handed;
    this.host.logs.resumed(state, next);
    this.host.log.line("session-resumed", { socket: state.socketId, missed: missed.length });
    return { ...over, remote };
  }

  /** Asks object `home` for a session; another object closes its own socket of it, so nothing is left to close here. */
  async #claimAt(home: string, claim: Claim): Promise<HandOver | null> {
    // Async, so a pid naming no real object (the stub throws) fails as a rejection.
    const wire = await (async () => this.host.stubs.get(home).claimSession(claim, this.host.self))().catch(() => null);
    return wire && { handed: fromWire(wire), superseded: null };
  }

  /**
   * Gives up a session kept here to the reconnect that claims it, from
   * `newHome` (null: this object): checks the pid, its app and its offset.
   * A claim that cannot be met ends the session, except a wrong pid or app,
   * which changes nothing.
   */
  async handOver(claim: Claim, newHome: string | null): Promise<HandOver | null> {
    if (typeof claim.pid !== "string") return null;
    const store = this.host.store();
    const moved = store.movedByPid(claim.pid);
    if (moved) {
      if (newHome === null) return null;
      // It moved on from here: ask where it went, and remember where it goes now.
      const wire = await (async () => this.host.stubs.get(moved.movedTo).claimSession(claim, newHome))().catch(
        () => null,
      );
      if (wire) store.moved({ ...moved, movedTo: newHome, expiresAt: Date.now() + BIRTHPLACE_MEMORY_MS });
      return wire && { handed: fromWire(wire), superseded: null };
    }
    await this.sweep(Date.now());
    const session = store.byPid(claim.pid);
    if (!session || session.state.app !== claim.app) return null;
    const socketId = session.state.socketId;
    const live = this.host.logs.of(socketId);
    const eventLog =
      live?.log ?? new EventLog(this.host.limits, { next: session.next, events: store.events(session.pid) });
    const missed = session.lossy ? [...eventLog.events] : eventLog.since(claim.offset);
    if (missed === null) {
      this.host.log.line("session-not-resumed", { socket: socketId, reason: "events lost" });
      await this.#endKept(session);
      return null;
    }
    const superseded = this.host.isHeld(socketId) ? socketId : null;
    this.host.logs.take(socketId);
    if (newHome !== null) {
      store.delete(session.pid);
      const born = pidHome(session.pid) === this.host.self;
      store.moved({
        pid: session.pid,
        socketId,
        movedTo: newHome,
        expiresAt: Date.now() + (born ? BIRTHPLACE_MEMORY_MS : this.host.window),
      });
      await this.host.alarms.wakeBy(Date.now() + this.host.window);
    }
    return {
      handed: { state: session.state, next: eventLog.next, missed: missed.map((event) => event.frame) },
      superseded,
    };
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
      if (this.host.isHeld(session.state.socketId)) continue;
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
