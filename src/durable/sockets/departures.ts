import type { VerifiedSessions } from "../../auth/verified-sessions";
import type { ConnectionState } from "../../signaling/connection-state";
import type { RoomGateway } from "../../signaling/room-requests";
import type { Peer } from "../../signaling/room-store";
import { CLOSE_MESSAGE_TOO_BIG, CLOSE_NORMAL, CLOSE_POLICY_VIOLATION, CLOSE_SLOT_TAKEN } from "../../socket/connection";
import type { OwedNotice } from "../recovery/claims";
import type { SessionKeeper } from "../recovery/session-keeper";
import type { Log } from "../runtime/log";
import type { FloodGuard } from "./flood-guard";
import type { HeldSockets } from "./held-sockets";
import { closeQuietly } from "./quiet-socket";

/**
 * Closes that end a recoverable session instead of keeping it: a goodbye
 * (1000), and the server's own closes for floods (1008), oversized frames
 * (1009), which a reconnect would only repeat, and a socket in no room
 * giving way in a full object (4001), which has nothing to keep.
 */
const ENDS_SESSION = new Set([CLOSE_NORMAL, CLOSE_POLICY_VIOLATION, CLOSE_MESSAGE_TOO_BIG, CLOSE_SLOT_TAKEN]);

/** The close reason of a socket whose session a reconnect took over (code 1000). */
export const SUPERSEDED = "session resumed on a new connection";

/** What departures need from the object they happen in. */
export interface DepartureHost {
  /** This object's id: the `home` of its sockets' peers in their rooms. */
  self: string;
  held: HeldSockets;
  keeper: Pick<SessionKeeper, "detach" | "end">;
  gateway: Pick<RoomGateway, "request">;
  guard: Pick<FloodGuard, "forget">;
  sessions: Pick<VerifiedSessions, "forget">;
  log: Log;
}

/**
 * How sockets leave an object, and their peers their rooms: a close by the
 * client, a close by the server (a flood, a missed deadline), a DISCONNECT,
 * a recoverable session kept for its client or taken over by a new socket.
 * Nothing here throws: a departure must never stop the others.
 */
export class Departures {
  constructor(private readonly host: DepartureHost) {}

  /**
   * Closes a socket from the server side and lets it go at once: its rooms
   * hear of its departure now (or its session is kept, if the close is not a
   * goodbye), and the close the runtime reports later is not handled again.
   */
  async drop(ws: WebSocket, tag: string, code: number, reason: string): Promise<void> {
    const { held } = this.host;
    if (held.closedHere(tag)) return;
    held.closeHere(tag);
    try {
      await this.release(ws, tag, code, reason);
    } finally {
      // Marked closed here, it gets no more frames and no heartbeat: it must close whatever failed.
      closeQuietly(ws, code, reason);
    }
  }

  /**
   * Lets a closed socket go: a recoverable session whose socket closed
   * without a goodbye (no DISCONNECT, no close 1000; a flood or an
   * oversized frame ends it too) is kept for its client; any other leaves
   * its rooms now.
   */
  async release(ws: WebSocket, tag: string, code: number, reason: string): Promise<void> {
    const { held, keeper } = this.host;
    const state = held.state(ws, tag);
    this.#closed(tag, state, code, reason);
    if (state?.recovery && state.connected && state.pid && !ENDS_SESSION.has(code)) {
      if (await keeper.detach(state, Date.now())) {
        held.forgetState(tag);
        return;
      }
    }
    await this.leaveAll(ws, tag);
    if (state?.recovery) await keeper.end(state);
    held.forgetState(tag);
  }

  /**
   * Its client is back on another socket: close the socket tagged `tag`
   * without letting the session go. The hand-over already marked it closed
   * here, so nothing was sent to it since.
   */
  supersede(tag: string): void {
    const { held } = this.host;
    const ws = held.byTag(tag);
    if (!ws) return;
    const state = held.state(ws, tag);
    held.closeHere(tag);
    this.#closed(tag, state, CLOSE_NORMAL, SUPERSEDED, { sessionGoesOn: true });
    held.forgetState(tag);
    closeQuietly(ws, CLOSE_NORMAL, SUPERSEDED);
  }

  /** The connection leaves every room it is in and withdraws every request it made. */
  async leaveAll(ws: WebSocket, tag: string): Promise<void> {
    const state = this.host.held.state(ws, tag);
    if (!state) return;
    await this.leaveRooms(state);
    try {
      this.host.held.update(ws, tag, (current) => ({ ...current, rooms: [], requested: [] }));
    } catch (error) {
      console.error(`[${this.host.log.name()}] socket ${state.socketId}: clearing its rooms failed:`, error);
    }
  }

  /** A session's peer leaves its rooms and withdraws its requests, as if it disconnected. */
  async leaveRooms(state: ConnectionState): Promise<void> {
    if (!state.app) return;
    for (const room of new Set([...state.rooms, ...state.requested])) {
      try {
        await this.host.gateway.request({ app: state.app, room }, this.#actor(state), { kind: "drop" });
      } catch (error) {
        // The room's audit lets the peer go later.
        console.error(`[${this.host.log.name()}] leaving a room failed:`, error);
      }
    }
  }

  /**
   * A recovered session's socket lives here now: its rooms send its events
   * here, and tell it again of the join requests in `owedNotices`. */
  async rehome(state: ConnectionState, owedNotices: readonly OwedNotice[] = []): Promise<void> {
    if (!state.app) return;
    for (const room of new Set([...state.rooms, ...state.requested])) {
      const notices = owedNotices.filter((owed) => owed.room === room).map((owed) => owed.candidate);
      const action = notices.length > 0 ? { kind: "rehome" as const, notices } : { kind: "rehome" as const };
      try {
        const reply = await this.host.gateway.request({ app: state.app, room }, this.#actor(state), action);
        if (!reply.outcome.ok)
          console.warn(`[${this.host.log.name()}] rehoming in a room failed: ${reply.outcome.error.code}`);
      } catch (error) {
        // The other rooms are still told; this one reaches the session through its old object until then.
        console.error(`[${this.host.log.name()}] rehoming in a room failed:`, error);
      }
    }
  }

  #actor(state: ConnectionState): Peer {
    return { id: state.socketId, home: this.host.self, peerinfo: state.peerinfo };
  }

  /**
   * Forgets what memory held for the socket, and logs its close: once per
   * socket. `sessionGoesOn`: its peer lives on in another socket (a taken
   * over session), whose id and verified tokens stay.
   */
  #closed(
    tag: string,
    state: ConnectionState | null,
    code: number,
    reason: string,
    { sessionGoesOn = false } = {},
  ): void {
    const unlogged = this.host.guard.forget(tag);
    const socket = state?.socketId ?? tag;
    if (!sessionGoesOn) {
      this.host.sessions.forget(socket);
      this.host.held.forgetPeer(socket);
    }
    const fields: Record<string, unknown> = { object: this.host.log.name(), socket, code, reason };
    if (state) fields.seconds = Math.round((Date.now() - state.openedAt) / 1000);
    if (unlogged > 0) fields.unloggedRefusals = unlogged;
    this.host.log.line("socket-close", fields);
  }
}
