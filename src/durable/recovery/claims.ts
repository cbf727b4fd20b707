import type { ConnectionState } from "../../signaling/connection-state";
import type { LoggedEvent } from "../../socket/recovery";

/** What a reconnect presents to take a session back, as the object it landed in read it from its CONNECT. */
export interface Claim {
  pid: unknown;
  offset: unknown;
  /** The app the reconnect proved with a verified token (the CONNECT's, or the room placement's). */
  app: string;
  /**
   * The session token the session was given (`auth.session` in the CONNECT):
   * what lets a reconnect take over a socket that still answers pings.
   */
  session?: unknown;
}

/** A join request a dropped session was not told of (it stayed in the room). */
export interface OwedNotice {
  room: string;
  candidate: string;
}

/** A session handed to the object that a reconnect landed in. */
export interface HandedSession {
  state: ConnectionState;
  next: number;
  /** The events it missed, framed with their offsets, to send now. */
  missed: string[];
  /** Every event it keeps (those before the drop and those missed): its log goes on from them. */
  events: LoggedEvent[];
  /** Join requests it was not told of while dropped: its rooms tell it again. */
  owedNotices: OwedNotice[];
}

/**
 * A {@link HandedSession} as it crosses to another object: its state as JSON
 * text. The compiler cannot check a stub's inferred RPC type of a state
 * whose peerinfo is any JSON (too deep), and a cast would let a changed
 * signature compile; JSON is also exactly what peerinfo is.
 */
export interface HandedSessionWire {
  state: string;
  next: number;
  missed: string[];
  events: LoggedEvent[];
  owedNotices: OwedNotice[];
}

export function toWire(handed: HandedSession): HandedSessionWire {
  return { ...handed, state: JSON.stringify(handed.state) };
}

export function fromWire(wire: HandedSessionWire): HandedSession {
  return { ...wire, state: JSON.parse(wire.state) as ConnectionState };
}
