import type { Json } from "../protocol/events";

/**
 * What the server knows about one connection. It is small and JSON-safe
 * because it lives in the WebSocket's attachment (at most 16 KiB), which is
 * what survives hibernation; it is written only when it changes.
 */
export interface ConnectionState {
  /** Engine.IO session id, sent in the open packet. */
  engineId: string;
  /** Socket.IO socket id, sent in the CONNECT answer: the peer's `peer_id`. */
  socketId: string;
  /** When the WebSocket was accepted (ms since the epoch). */
  openedAt: number;
  /**
   * The app (tenant) the connection belongs to, once known: fixed by a
   * room placement, or by the first valid app token. It never changes after.
   */
  app: string | null;
  /** Whether the client has connected to the namespace `/`. */
  connected: boolean;
  /** Whether `auth-request` succeeded: a session token was issued. */
  authenticated: boolean;
  /** The peer's `peerinfo` from `auth-request`, sent with every event about it. */
  peerinfo: Json;
  /** Rooms this peer is a member of; left when it disconnects. */
  rooms: string[];
  /** Rooms this peer asked to join and awaits an answer from; withdrawn when it disconnects. */
  requested: string[];
  /** Last pong that reached the object itself (the runtime answers most pongs alone). */
  lastPongAt?: number;
  /** The client opted into connection state recovery (handshake query `recovery=1`). */
  recovery?: boolean;
  /** The session's private id, once connected with recovery: what a reconnect presents to get it back. */
  pid?: string;
}

/**
 * A new connection's state.
 *
 * @example newConnection({ engineId: "e1", socketId: "s1", openedAt: Date.now(), app: null })
 */
export function newConnection(
  init: Pick<ConnectionState, "engineId" | "socketId" | "openedAt" | "app">,
): ConnectionState {
  return { ...init, connected: false, authenticated: false, peerinfo: null, rooms: [], requested: [] };
}
