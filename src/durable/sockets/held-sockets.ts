import type { ConnectionState } from "../../signaling/connection-state";
import type { StateUpdate } from "../../signaling/event-result";
import type { SessionLogs } from "../recovery/session-logs";
import { Connections } from "./connections";
import { sendQuietly } from "./quiet-socket";

/**
 * The WebSockets an object holds, as the runtime gives them to this
 * instance: each socket's tag (the id it was accepted under), the open
 * socket of each peer, the connection state of each (src/durable/sockets/connections.ts),
 * and the sockets this object closed itself.
 *
 * A peer's socket id is its tag, except for a recovered session: its new
 * WebSocket was tagged when it was accepted, before the client said which
 * session it was, so the session's id is "adopted" by that tag. Adoptions
 * are rebuilt from the attachments once per instance.
 */
export class HeldSockets {
  readonly #connections = new Connections();
  /**
   * Sockets this object closed itself and has already let go of: the
   * runtime still reports their close, which must not be handled (or logged) twice.
   */
  readonly #closedHere = new Set<string>();
  /** Tags by WebSocket, remembered: asking the runtime is not free. */
  readonly #tags = new WeakMap<WebSocket, string>();
  /** Open WebSockets by socket id, remembered while open: a relay needs both ends, and asking the runtime each time was 6% of its CPU. */
  readonly #open = new Map<string, WebSocket>();
  #adopted: Map<string, string> | undefined;

  constructor(
    private readonly ctx: Pick<DurableObjectState, "getWebSockets" | "getTags">,
    /** How a recoverable session records what it is sent and how it changes. */
    private readonly sessions: Pick<SessionLogs, "record" | "changed">,
  ) {}

  /** Every WebSocket this object holds, open or closing. */
  all(): WebSocket[] {
    return this.ctx.getWebSockets();
  }

  /** The socket's tag: the id it was accepted under, which keys its state here. */
  tagOf(ws: WebSocket): string | undefined {
    let tag = this.#tags.get(ws);
    if (tag === undefined) {
      tag = this.ctx.getTags(ws)[0];
      if (tag !== undefined) this.#tags.set(ws, tag);
    }
    return tag;
  }

  /** The open socket of peer `socketId`, if it is here: tagged with that id, or adopted by a recovered session. */
  byId(socketId: string): WebSocket | undefined {
    const known = this.#open.get(socketId);
    if (known && known.readyState === WebSocket.READY_STATE_OPEN) return known;
    this.#open.delete(socketId);
    const tag = this.#adoptedMap().get(socketId) ?? socketId;
    const ws = this.ctx.getWebSockets(tag)[0];
    if (ws) this.#open.set(socketId, ws);
    return ws;
  }

  /** Whether a socket of this object holds peer `socketId`. */
  isHeld(socketId: string): boolean {
    return this.byId(socketId) !== undefined;
  }

  /** The open socket of peer `socketId` with its tag and state, unless this object already closed it. */
  live(socketId: string): { ws: WebSocket; tag: string; state: ConnectionState | null } | null {
    const ws = this.byId(socketId);
    const tag = ws ? this.tagOf(ws) : undefined;
    if (!ws || !tag || this.#closedHere.has(tag)) return null;
    return { ws, tag, state: this.state(ws, tag) };
  }

  /** The connection state of the socket tagged `tag`, or null if it has none. */
  state(ws: WebSocket, tag: string): ConnectionState | null {
    return this.#connections.read(ws, tag);
  }

  /** A socket just accepted under its socket id. */
  opened(ws: WebSocket, state: ConnectionState): void {
    this.#connections.write(ws, state.socketId, state);
  }

  /** Changes a connection's state: in memory, in its attachment, and in storage if it is a recoverable session. */
  update(ws: WebSocket, tag: string, change: StateUpdate): ConnectionState | null {
    const before = this.#connections.read(ws, tag);
    const after = this.#connections.update(ws, tag, change);
    if (after?.recovery) this.sessions.changed(before, after);
    return after;
  }

  /**
   * Sends a frame to a socket: an event to a recoverable session gets its
   * offset and is logged. False when it is lost: the socket is closed and
   * the frame is not in a session's log.
   */
  send(ws: WebSocket, state: ConnectionState, frame: string): boolean {
    if (!state.recovery) return sendQuietly(ws, frame);
    const logged = this.sessions.record(state.socketId, frame);
    // An event in a recoverable session's log is not lost when its socket just died: the close (on
    // its way) keeps the session, and the reconnect gets the event. Counted as undelivered, it made
    // the room let a peer go whose drop it had not seen yet.
    return sendQuietly(ws, logged) || logged !== frame;
  }

  /** A recovered session's id is held by the socket tagged `tag` from now on. */
  adopt(socketId: string, tag: string): void {
    this.#adoptedMap().set(socketId, tag);
    this.#open.delete(socketId);
  }

  /** The tag of the socket holding peer `socketId` here, if one does. */
  tagHolding(socketId: string): string | undefined {
    const ws = this.byId(socketId);
    return ws ? this.tagOf(ws) : undefined;
  }

  /** The socket accepted under `tag`, if it is still held. */
  byTag(tag: string): WebSocket | undefined {
    return this.ctx.getWebSockets(tag)[0];
  }

  /** Whether this object closed the socket tagged `tag` itself. */
  closedHere(tag: string): boolean {
    return this.#closedHere.has(tag);
  }

  /** This object closes the socket tagged `tag` itself: its close event will be news to no one. */
  closeHere(tag: string): void {
    this.#closedHere.add(tag);
  }

  /** The runtime reported the close of a socket: true if this object had closed it itself (and forgets that). */
  takeClosedHere(tag: string): boolean {
    return this.#closedHere.delete(tag);
  }

  /** The peer `socketId` no longer has a socket here. */
  forgetPeer(socketId: string): void {
    this.#adoptedMap().delete(socketId);
    this.#open.delete(socketId);
  }

  /** The socket tagged `tag` is gone: its state need not be remembered. */
  forgetState(tag: string): void {
    this.#connections.forget(tag);
  }

  #adoptedMap(): Map<string, string> {
    if (!this.#adopted) {
      this.#adopted = new Map();
      for (const ws of this.ctx.getWebSockets()) {
        const tag = this.tagOf(ws);
        const state = tag ? this.#connections.read(ws, tag) : null;
        if (tag && state && state.socketId !== tag) this.#adopted.set(state.socketId, tag);
      }
    }
    return this.#adopted;
  }
}
