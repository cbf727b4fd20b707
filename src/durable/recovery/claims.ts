import type { ConnectionState } from "../../signaling/connection-state";

/** What a reconnect presents to take a session back, as the object it landed in read it from its CONNECT. */
export interface Claim {
  pid: unknown;
  offset: unknown;
  /** The app the reconnect proved with a verified token. */
  app: string;
}

/** A session handed to the object that a reconnect landed in. */
export interface HandedSession {
  state: ConnectionState;
  next: number;
  /** The events it missed, framed with their offsets. */
  missed: string[];
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
}

export function toWire(handed: HandedSession): HandedSessionWire {
  return { ...handed, state: JSON.stringify(handed.state) };
}

export function fromWire(wire: HandedSessionWire): HandedSession {
  return { ...wire, state: JSON.parse(wire.state) as ConnectionState };
}
