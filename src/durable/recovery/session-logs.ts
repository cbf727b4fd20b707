import type { ConnectionState } from "../../signaling/connection-state";
import { EventLog, type EventLogLimits, type LoggedEvent } from "../../socket/recovery";
import { type SessionStore, storedSession } from "./session-store";

/** A connected recoverable session: its pid and the events it was sent last. */
interface LiveSession {
  pid: string;
  log: EventLog;
}

/**
 * How long a session's log waits, after the last event sent to it, before it
 * is written to storage (ms). An object whose sockets are all quiet
 * hibernates after about 10 s under `wrangler dev`, and its memory is gone:
 * the log must be in storage by then, or a socket that drops later (a quiet
 * call, minutes in) could not be recovered. Well under that, and far over a
 * burst of candidates, so a burst is written once.
 */
export const QUIET_BEFORE_WRITE_MS = 2_000;

/**
 * The event logs of the connected recoverable sessions of an object: each
 * event sent to such a session gets its offset here and is remembered, so a
 * reconnect after a drop gets what the dropped socket may have lost.
 *
 * In memory while events flow (the relay path writes no storage), and
 * written to storage once the session has been quiet for
 * {@link QUIET_BEFORE_WRITE_MS}: a fresh instance (after hibernation or
 * eviction) reads a session's log back the first time it needs it. What a
 * session is (app, rooms) is stored whenever it changes, once its app is
 * proven by a verified token: a socket that never proves one stores nothing.
 *
 * The lowest of the recovery jobs: the sockets send through it
 * (src/durable/sockets/held-sockets.ts), and the keeper takes a session's log
 * from it when its socket drops (src/durable/recovery/session-keeper.ts).
 */
export class SessionLogs {
  /** By socket id. */
  readonly #live = new Map<string, LiveSession>();
  /** Sockets whose log changed since it was last written. */
  readonly #unwritten = new Set<string>();
  /** Sockets storage was asked about and had no connected session of: not asked again per event. */
  readonly #unstored = new Set<string>();
  #lastEventAt = 0;
  #writeTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly store: () => SessionStore,
    private readonly limits: EventLogLimits,
  ) {}

  /** The frame to send socket `socketId`: with its offset, and logged, if its session is recoverable. */
  record(socketId: string, frame: string): string {
    const session = this.of(socketId);
    if (!session) return frame;
    const event = session.log.record(frame);
    this.#unwritten.add(socketId);
    this.#lastEventAt = Date.now();
    this.#writeTimer ??= setTimeout(() => this.#writeWhenQuiet(), QUIET_BEFORE_WRITE_MS);
    return event.frame;
  }

  /** A connection's state changed; a recoverable session's durable part is stored when it changes. */
  changed(before: ConnectionState | null, after: ConnectionState): void {
    if (!after.recovery || !after.pid || !after.connected) return;
    let session = this.of(after.socketId);
    if (!session) {
      session = { pid: after.pid, log: new EventLog(this.limits) };
      this.#live.set(after.socketId, session);
    } else if (before && !durablyDifferent(before, after)) {
      return;
    }
    // Nothing is stored for a socket that has not proven its app: a pid is bound to one.
    if (after.app !== null) this.store().save(storedSession(after, session.log.next));
    this.#unstored.delete(after.socketId);
  }

  /**
   * The connected session of `socketId`, if it is recoverable and logged
   * here: from memory, or, the first time a fresh instance needs it, from storage.
   */
  of(socketId: string): LiveSession | undefined {
    const known = this.#live.get(socketId);
    if (known || this.#unstored.has(socketId)) return known;
    const stored = this.store().bySocket(socketId);
    if (!stored || stored.expiresAt !== null) {
      this.#unstored.add(socketId);
      return undefined;
    }
    const session = {
      pid: stored.pid,
      log: new EventLog(this.limits, { next: stored.next, events: this.store().events(stored.pid) }),
    };
    this.#live.set(socketId, session);
    return session;
  }

  /**
   * A resumed session is connected here again. Its log goes on from what it
   * kept, the events just replayed included, so whatever offset its client
   * holds after this is honoured at the next drop. Stored at once: the
   * object it came from has let it go.
   */
  resumed(state: ConnectionState, next: number, events: readonly LoggedEvent[]): void {
    const log = new EventLog(this.limits, { next, events: [...events] });
    this.#unstored.delete(state.socketId);
    this.#live.set(state.socketId, { pid: state.pid as string, log });
    this.store().save(storedSession(state, next));
    this.store().saveEvents(state.pid as string, log.events);
  }

  /** The session of `socketId` is no longer connected here (dropped, ended or moved): its log, if it had one. */
  take(socketId: string): LiveSession | undefined {
    const session = this.of(socketId);
    this.#live.delete(socketId);
    this.#unwritten.delete(socketId);
    this.#unstored.delete(socketId);
    return session;
  }

  /** Writes the logs that changed, once no event was sent for a while; waits longer while events flow. */
  #writeWhenQuiet(): void {
    const quietFor = Date.now() - this.#lastEventAt;
    if (quietFor < QUIET_BEFORE_WRITE_MS) {
      this.#writeTimer = setTimeout(() => this.#writeWhenQuiet(), QUIET_BEFORE_WRITE_MS - quietFor);
      return;
    }
    this.#writeTimer = undefined;
    for (const socketId of this.#unwritten) {
      const session = this.#live.get(socketId);
      if (!session) continue;
      try {
        this.store().saveLog(session.pid, session.log.next, session.log.events);
      } catch (error) {
        // Memory still has it; only a recovery after hibernation loses what was not written.
        console.error(`session log of ${socketId} not written:`, error);
      }
    }
    this.#unwritten.clear();
  }
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
