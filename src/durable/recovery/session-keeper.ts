import type { ConnectionState } from "../../signaling/connection-state";
import { applyMembership } from "../../signaling/membership";
import type { MembershipChange } from "../../signaling/room-rules";
import type { RoomRef } from "../../signaling/room-store";
import { EventLog, type EventLogLimits, type LoggedEvent, newPid, pidHome, withOffset } from "../../socket/recovery";
import { log } from "../runtime/log";
import type { SessionStore, StoredSession } from "./session-store";

/** What a reconnect presents to take a session back. */
export interface Claim {
  pid: unknown;
  offset: unknown;
  app: string;
}

/** A session handed to the object that a reconnect landed in. */
export interface HandedSession {
  state: ConnectionState;
  next: number;
  /** The events it missed, framed with their offsets. */
  missed: string[];
}

/** What the keeper needs from its object. */
export interface KeeperHost {
  /** This object's id. */
  self: string;
  store(): SessionStore;
  /** How long a dropped session waits for its client (ms). */
  window: number;
  limits: EventLogLimits;
  /** Whether a socket of this object currently holds `socketId`. */
  connected(socketId: string): boolean;
  /** Closes the socket holding `socketId` without letting its session go (its client is back elsewhere). */
  supersede(socketId: string): void;
  /** The session ended for good: leave its rooms, withdraw its requests. */
  leave(state: ConnectionState): Promise<void>;
  /** Tells the session's rooms that its socket now lives in this object. */
  rehome(state: ConnectionState): Promise<void>;
  /** RPC: asks object `home` to hand over the session `claim` names. */
  claimAt(home: string, claim: Claim, newHome: string): Promise<HandedSession | null>;
  /** RPC: tells the object a session was born at that it ended. */
  endedAt(home: string, pid: string): Promise<void>;
  wakeBy(at: number): Promise<void>;
}

/** How long the object a session was born at remembers where it went (a reconnect asks there). */
const BIRTHPLACE_MEMORY_MS = 24 * 60 * 60 * 1000;

/**
 * An object's recoverable sessions: the event log of each connected one
 * (memory only: the relay path writes no storage), and the dropped ones
 * waiting for their clients (storage, so a restart keeps them). See
 * docs/PROTOCOL.md "Connection state recovery" for what is durable when.
 */
export class SessionKeeper {
  /** Connected sessions: socket id -> pid and event log. */
  readonly #live = new Map<string, { pid: string; log: EventLog }>();
  /** Whether stored sessions were checked against the sockets since this instance started. */
  #swept = false;

  constructor(private readonly host: KeeperHost) {}

  /** A pid for a new session born here. */
  newPid(): string {
    return newPid(this.host.self);
  }

  /** The frame to send a socket: with its offset, and logged, if its session is recoverable. */
  frame(socketId: string, frame: string): string {
    const session = this.#live.get(socketId);
    return session ? session.log.record(frame).frame : frame;
  }

  /** A connection's state changed; a recoverable session's durable part is stored when it changes. */
  changed(before: ConnectionState | null, after: ConnectionState): void {
    if (!after.recovery || !after.pid || !after.connected) return;
    let session = this.#live.get(after.socketId);
    if (!session) {
      session = { pid: after.pid, log: new EventLog(this.host.limits) };
      this.#live.set(after.socketId, session);
    } else if (before && !durablyDifferent(before, after)) {
      return;
    }
    this.host.store().save(stored(after, session.log.next, null, null, false));
  }

  /**
   * The socket dropped without a goodbye: keep the session for the window,
   * with the events it was sent last (some may never have arrived).
   */
  async detach(state: ConnectionState, now: number): Promise<boolean> {
    const session = this.#live.get(state.socketId);
    if (!session || !state.pid) return false;
    this.#live.delete(state.socketId);
    const expiresAt = now + this.host.window;
    const store = this.host.store();
    store.saveEvents(state.pid, session.log.events);
    store.save(stored(state, session.log.next, now, expiresAt, false));
    log("session-kept", { socket: state.socketId, until: expiresAt });
    await this.host.wakeBy(expiresAt);
    return true;
  }

  /** The session ended with a goodbye (or could not be kept): forget it. */
  async end(state: ConnectionState): Promise<void> {
    this.#live.delete(state.socketId);
    if (!state.pid) return;
    this.host.store().delete(state.pid);
    const born = pidHome(state.pid);
    if (born && born !== this.host.self) await this.host.endedAt(born, state.pid).catch(() => undefined);
  }

  /** Whether `socketId` is a session dropped here and still waiting for its client. */
  waiting(socketId: string): boolean {
    const session = this.host.store().bySocket(socketId);
    return session !== null && !this.host.connected(socketId);
  }

  /**
   * Keeps an event for a dropped session, applying the membership change it
   * carries. False when there is no such session, or it just passed its
   * bounds: then it ends, and the room learns it left.
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
    return session && !this.host.connected(socketId) ? session : null;
  }

  async #keepFor(session: StoredSession, state: ConnectionState, frame: string): Promise<boolean> {
    const event = { offset: session.next, frame: withOffset(frame, String(session.next)) };
    // The bounds count what it missed since the drop, not the last events sent before it.
    const missedCount = session.missedCount + 1;
    const missedBytes = session.missedBytes + event.frame.length;
    if (missedCount > this.host.limits.maxEvents || missedBytes > this.host.limits.maxBytes) {
      log("session-overflowed", { socket: state.socketId, missed: missedCount });
      await this.#endDropped({ ...session, state });
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
  async resume(claim: Claim): Promise<HandedSession | null> {
    const born = pidHome(claim.pid);
    if (born === null) return null;
    const pid = claim.pid as string;
    let handed: HandedSession | null;
    let remote = true;
    if (born !== this.host.self) {
      handed = await this.host.claimAt(born, claim, this.host.self).catch(() => null);
    } else {
      const moved = this.host.store().movedByPid(pid);
      if (moved) {
        // Born here, kept elsewhere since: it comes home.
        handed = await this.host.claimAt(moved.movedTo, claim, this.host.self).catch(() => null);
        if (handed) this.host.store().forgetMoved(pid);
      } else {
        handed = await this.handOver(claim, null);
        remote = false;
      }
    }
    if (!handed) return null;
    const state = handed.state;
    this.#live.set(state.socketId, {
      pid: state.pid as string,
      log: new EventLog(this.host.limits, { next: handed.next }),
    });
    this.host.store().save(stored(state, handed.next, null, null, false));
    if (remote) await this.host.rehome(state);
    log("session-resumed", { socket: state.socketId, missed: handed.missed.length });
    return handed;
  }

  /**
   * Gives up a session kept here to the reconnect that claims it, from
   * `newHome` (null: this object): checks the pid, its app and its offset.
   * A claim that cannot be met ends the session, except a wrong pid or app,
   * which changes nothing.
   */
  async handOver(claim: Claim, newHome: string | null): Promise<HandedSession | null> {
    if (typeof claim.pid !== "string") return null;
    const store = this.host.store();
    const moved = store.movedByPid(claim.pid);
    if (moved) {
      if (newHome === null) return null;
      // It moved on from here: ask where it went, and remember where it goes now.
      const handed = await this.host.claimAt(moved.movedTo, claim, newHome).catch(() => null);
      if (handed) store.moved({ ...moved, movedTo: newHome, expiresAt: Date.now() + BIRTHPLACE_MEMORY_MS });
      return handed;
    }
    await this.sweep(Date.now());
    const session = store.byPid(claim.pid);
    if (!session || session.state.app !== claim.app) return null;
    const live = this.#live.get(session.state.socketId);
    const eventLog =
      live?.log ?? new EventLog(this.host.limits, { next: session.next, events: store.events(session.pid) });
    const missed = session.lossy ? [...eventLog.events] : eventLog.since(claim.offset);
    if (missed === null) {
      log("session-not-resumed", { socket: session.state.socketId, reason: "events lost" });
      await this.#endDropped(session);
      return null;
    }
    if (this.host.connected(session.state.socketId)) this.host.supersede(session.state.socketId);
    this.#live.delete(session.state.socketId);
    if (newHome !== null) {
      store.delete(session.pid);
      const born = pidHome(session.pid) === this.host.self;
      store.moved({
        pid: session.pid,
        socketId: session.state.socketId,
        movedTo: newHome,
        expiresAt: Date.now() + (born ? BIRTHPLACE_MEMORY_MS : this.host.window),
      });
      await this.host.wakeBy(Date.now() + this.host.window);
    }
    return { state: session.state, next: eventLog.next, missed: missed.map((event: LoggedEvent) => event.frame) };
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
      if (this.host.connected(session.state.socketId)) continue;
      let { expiresAt } = session;
      if (expiresAt === null) {
        expiresAt = now + this.host.window;
        // Offsets jump, so none repeats one the client saw before the restart.
        store.save({ ...session, detachedAt: now, expiresAt, lossy: true, next: session.next + 1_000_000 });
        log("session-kept", { socket: session.state.socketId, until: expiresAt, restarted: true });
      } else if (expiresAt <= now) {
        log("session-expired", { socket: session.state.socketId });
        await this.#endDropped(session);
        continue;
      }
      next = next === null ? expiresAt : Math.min(next, expiresAt);
    }
    for (const moved of store.allMoved()) {
      if (moved.expiresAt <= now) store.forgetMoved(moved.pid);
      else next = next === null ? moved.expiresAt : Math.min(next, moved.expiresAt);
    }
    this.#swept = true;
    return next;
  }

  /** Whether a fresh instance still has to look at its stored sessions. */
  get swept(): boolean {
    return this.#swept;
  }

  async #endDropped(session: StoredSession): Promise<void> {
    this.host.store().delete(session.pid);
    await this.host.leave(session.state);
    const born = pidHome(session.pid);
    if (born && born !== this.host.self) await this.host.endedAt(born, session.pid).catch(() => undefined);
  }
}

function stored(
  state: ConnectionState,
  next: number,
  detachedAt: number | null,
  expiresAt: number | null,
  lossy: boolean,
): StoredSession {
  return { pid: state.pid as string, state, next, detachedAt, expiresAt, lossy, missedCount: 0, missedBytes: 0 };
}

/** Whether two states differ in what a recovered session needs (not pongs, not engine ids). */
function durablyDifferent(a: ConnectionState, b: ConnectionState): boolean {
  return (
    a.socketId !== b.socketId ||
    a.app !== b.app ||
    a.authenticated !== b.authenticated ||
    a.peerinfo !== b.peerinfo ||
    a.rooms !== b.rooms ||
    a.requested !== b.requested ||
    a.pid !== b.pid
  );
}
