import { EventLog, type EventLogLimits, pidHome } from "../../socket/recovery";
import type { ObjectRpc } from "../mesh/object-rpc";
import { KeyedQueue } from "../runtime/keyed-queue";
import type { Log } from "../runtime/log";
import type { HeldSockets } from "../sockets/held-sockets";
import type { LivenessProbe } from "../sockets/liveness-probe";
import { type Claim, fromWire, type HandedSession } from "./claims";
import { owedOf } from "./owed-notices";
import type { SessionKeeper } from "./session-keeper";
import type { SessionLogs } from "./session-logs";
import type { SessionStore, StoredSession } from "./session-store";

/** What claims need from their object. */
export interface ClaimsHost {
  /** This object's id. */
  self: string;
  store(): SessionStore;
  logs: SessionLogs;
  /** The dropped sessions kept here: swept before a claim is met, so an expired one is not handed over. */
  keeper: Pick<SessionKeeper, "sweep">;
  /** How long a dropped session waits for its client (ms): how long a moved one is remembered. */
  window: number;
  limits: EventLogLimits;
  /** The sockets held here: whether a session is connected, and where a resumed one now lives. */
  held: Pick<HeldSockets, "isHeld" | "update" | "adopt" | "tagHolding" | "closeHere">;
  probe: Pick<LivenessProbe, "answers">;
  /** How long a probe waits for the pong of a connected session's socket (ms). */
  probeMs: number;
  /** Whether `token` is a session token of this app and connection. */
  verifySession(token: unknown, binding: { app: string; connection: string }): Promise<boolean>;
  /** Other objects, by id: where sessions were born, or moved to. */
  stubs: { get(id: string): Pick<ObjectRpc, "claimSession"> };
  alarms: { wakeBy(at: number): Promise<void> };
  log: Log;
}

/** A session given up to a reconnect: the tag of the socket that held it here, if one still did, to be closed. */
export interface HandOver {
  handed: HandedSession;
  superseded: string | null;
}

/** A session resumed here: whether it came from another object (its rooms must learn where it lives now). */
export interface Resumed extends HandOver {
  remote: boolean;
}

/** The socket a reconnect came on: it takes the session's id and state as soon as the session is its own. */
export interface NewSocket {
  ws: WebSocket;
  tag: string;
}

/** How long the object a session was born at remembers where it went (a reconnect asks there). */
export const BIRTHPLACE_MEMORY_MS = 24 * 60 * 60 * 1000;

/**
 * Reconnects claiming sessions by their pid: the hand-over of a session,
 * kept or connected here, to the reconnect that claims it, here or in
 * another object, and the resume of one in this object.
 *
 * A claim never harms the session it names: a wrong app, an offset the
 * session cannot honour, or a live socket the claimant cannot prove it owns
 * leaves the session as it was, and the claimant gets a fresh one. Claims of
 * one pid are met one at a time. A socket to close (the one a session left)
 * is named to the caller, which closes it.
 */
export class SessionClaims {
  /** Claims, one at a time per pid. */
  readonly #claims = new KeyedQueue();
  /** Resumes under way in this object: a session on its way here, whose socket id is not held yet. */
  readonly #resuming = new Set<Promise<unknown>>();

  constructor(private readonly host: ClaimsHost) {}

  /**
   * A reconnect on socket `socket` of this object presents a pid: the
   * session, if it may be resumed, from here or handed over by another
   * object. The socket takes the session's id and state before this returns,
   * with no wait in between, so nothing sent to the session in the meantime
   * goes astray.
   */
  async resume(claim: Claim, socket: NewSocket): Promise<Resumed | null> {
    const born = pidHome(claim.pid);
    if (born === null) return null;
    const pid = claim.pid as string;
    const resuming = this.#claims.run(pid, async () => {
      let over: HandOver | null;
      let remote = true;
      if (this.host.store().byPid(pid)) {
        // Kept or connected here, wherever it was born: no other object is asked (and none asks back).
        over = await this.#handOverNow(claim, null);
        remote = false;
      } else if (born !== this.host.self) {
        over = await this.#claimAt(born, claim);
      } else {
        const moved = this.host.store().movedByPid(pid);
        if (moved) {
          // Born here, kept elsewhere since: it comes home.
          over = await this.#claimAt(moved.movedTo, claim);
          if (over) this.host.store().forgetMoved(pid);
        } else {
          over = await this.#handOverNow(claim, null);
          remote = false;
        }
      }
      if (!over) return null;
      const { state, next, events, missed } = over.handed;
      this.host.logs.resumed(state, next, events);
      this.host.held.update(socket.ws, socket.tag, (current) => ({
        ...state,
        engineId: current.engineId,
        openedAt: current.openedAt,
        connected: true,
        recovery: true,
      }));
      this.host.held.adopt(state.socketId, socket.tag);
      this.host.log.line("session-resumed", { socket: state.socketId, missed: missed.length });
      return { ...over, remote };
    });
    this.#resuming.add(resuming);
    const done = () => this.#resuming.delete(resuming);
    void resuming.then(done, done);
    return resuming;
  }

  /**
   * Waits for the resumes under way here, if any: an event for a session
   * that another object already passes on here may arrive before its new
   * socket took its id. True if there were some (look for the session again).
   */
  async resumesSettled(): Promise<boolean> {
    if (this.#resuming.size === 0) return false;
    await Promise.allSettled([...this.#resuming]);
    return true;
  }

  /**
   * Asks object `home` to hand a session over to `newHome` (by default this
   * object); the object giving it up closes its own socket of it, so
   * nothing is left to close here. Null when it cannot, or is unreachable.
   */
  async #claimAt(home: string, claim: Claim, newHome = this.host.self): Promise<HandOver | null> {
    // Async, so a pid naming no real object (the stub throws) fails as a rejection.
    const wire = await (async () => this.host.stubs.get(home).claimSession(claim, newHome))().catch(() => null);
    return wire && { handed: fromWire(wire), superseded: null };
  }

  /**
   * Gives up a session kept here to the reconnect that claims it from
   * object `newHome`, one claim of a pid at a time. Null, leaving the
   * session as it was, when the claim cannot be met.
   */
  async handOver(claim: Claim, newHome: string): Promise<HandOver | null> {
    if (typeof claim.pid !== "string") return null;
    return this.#claims.run(claim.pid, () => this.#handOverNow(claim, newHome));
  }

  /**
   * {@link handOver}, in its turn (`newHome` null: to a socket of this
   * object). Checks the pid, its app, the offset, and, while a socket here
   * still holds the session, that the claimant owns it: its session token,
   * or an old socket that no longer answers pings.
   */
  async #handOverNow(claim: Claim, newHome: string | null): Promise<HandOver | null> {
    if (typeof claim.pid !== "string") return null;
    const store = this.host.store();
    const moved = store.movedByPid(claim.pid);
    if (moved) {
      if (newHome === null) return null;
      // It moved on from here: ask where it went, and remember where it goes now.
      const over = await this.#claimAt(moved.movedTo, claim, newHome);
      if (over) store.moved({ ...moved, movedTo: newHome, expiresAt: Date.now() + BIRTHPLACE_MEMORY_MS });
      return over;
    }
    await this.host.keeper.sweep(Date.now());
    const found = store.byPid(claim.pid);
    if (!found || found.state.app !== claim.app) return null;
    const socketId = found.state.socketId;
    if (this.host.held.isHeld(socketId) && !(await this.#ownsLiveSession(claim, found))) {
      this.host.log.line("session-not-resumed", { socket: socketId, reason: "still connected" });
      return null;
    }
    // What follows runs without a wait: nothing can reach the session halfway through its hand-over.
    const session = store.byPid(claim.pid);
    if (!session) return null;
    const live = this.host.logs.of(socketId);
    const eventLog =
      live?.log ?? new EventLog(this.host.limits, { next: session.next, events: store.events(session.pid) });
    // After a restart (lossy), the log holds what was written before it (after 2 s of quiet) and what
    // was kept since: what follows the client's offset, or all of it for an offset the log cannot place.
    const since = session.lossy ? (eventLog.since(claim.offset) ?? [...eventLog.events]) : eventLog.since(claim.offset);
    if (since === null) {
      this.host.log.line("session-not-resumed", { socket: socketId, reason: "unknown offset" });
      return null;
    }
    const missed = since.filter((event) => owedOf(event.frame) === null);
    // The old socket is closed here from now on: deliveries pass it by (the caller closes it).
    const superseded = this.host.held.tagHolding(socketId) ?? null;
    if (superseded !== null) this.host.held.closeHere(superseded);
    this.host.logs.take(socketId);
    const handed: HandedSession = {
      state: session.state,
      next: eventLog.next,
      missed: missed.map((event) => event.frame),
      events: eventLog.events.filter((event) => owedOf(event.frame) === null),
      owedNotices: since.flatMap((event) => owedOf(event.frame) ?? []),
    };
    if (newHome !== null) {
      store.delete(session.pid);
      const born = pidHome(session.pid) === this.host.self;
      store.moved({
        pid: session.pid,
        socketId,
        movedTo: newHome,
        expiresAt: Date.now() + (born ? BIRTHPLACE_MEMORY_MS : this.host.window),
      });
      void this.host.alarms
        .wakeBy(Date.now() + this.host.window)
        .catch((error) => console.error(`[${this.host.log.name()}] setting the alarm failed:`, error));
    }
    return { handed, superseded };
  }

  /**
   * Whether a claim of a session whose socket here is still open comes from
   * its owner: it presents the session's token, or the old socket does not
   * answer a ping (its client's network changed before the server noticed).
   * A leaked pid alone never takes over a socket whose client is there.
   */
  async #ownsLiveSession(claim: Claim, session: StoredSession): Promise<boolean> {
    const binding = { app: session.state.app as string, connection: session.state.socketId };
    if (claim.session !== undefined && (await this.host.verifySession(claim.session, binding))) return true;
    return !(await this.host.probe.answers(session.state.socketId, this.host.probeMs));
  }
}
