import type { ConnectionState } from "../../signaling/connection-state";
import { EventLog, type EventLogLimits } from "../../socket/recovery";
import { type SessionStore, storedSession } from "./session-store";

/** A connected recoverable session: its pid and the events it was sent last. */
interface LiveSession {
  pid: string;
  log: EventLog;
}

/**
 * The event logs of the connected recoverable sessions of an object: each
 * event sent to such a session gets its offset here and is remembered, so a
 * reconnect after a drop gets what the dropped socket may have lost. In
 * memory (the relay path writes no storage); what a session is (app, rooms)
 * is stored whenever it changes.
 *
 * The lowest of the recovery jobs: the sockets send through it
 * (src/durable/sockets/held-sockets.ts), and the keeper takes a session's log
 * from it when its socket drops (src/durable/recovery/session-keeper.ts).
 */
export class SessionLogs {
  /** By socket id. */
  readonly #live = new Map<string, LiveSession>();

  constructor(
    private readonly store: () => SessionStore,
    private readonly limits: EventLogLimits,
  ) {}

  /** The frame to send socket `socketId`: with its offset, and logged, if its session is recoverable. */
  record(socketId: string, frame: string): string {
    const session = this.#live.get(socketId);
    return session ? session.log.record(frame).frame : frame;
  }

  /** A connection's state changed; a recoverable session's durable part is stored when it changes. */
  changed(before: ConnectionState | null, after: ConnectionState): void {
    if (!after.recovery || !after.pid || !after.connected) return;
    let session = this.#live.get(after.socketId);
    if (!session) {
      session = { pid: after.pid, log: new EventLog(this.limits) };
      this.#live.set(after.socketId, session);
    } else if (before && !durablyDifferent(before, after)) {
      return;
    }
    this.store().save(storedSession(after, session.log.next));
  }

  /** The connected session of `socketId`, if it is recoverable and logged here. */
  of(socketId: string): LiveSession | undefined {
    return this.#live.get(socketId);
  }

  /** A resumed session is connected here again, its log going on from `next`. */
  resumed(state: ConnectionState, next: number): void {
    this.#live.set(state.socketId, { pid: state.pid as string, log: new EventLog(this.limits, { next }) });
    this.store().save(storedSession(state, next));
  }

  /** The session of `socketId` is no longer connected here (dropped, ended or moved): its log, if it had one. */
  take(socketId: string): LiveSession | undefined {
    const session = this.#live.get(socketId);
    this.#live.delete(socketId);
    return session;
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
