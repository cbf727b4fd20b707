/**
 * Engine.IO heartbeats across hibernation, decided in pure code.
 *
 * The server pings every socket of an object at once, from one alarm every
 * `pingInterval`. Clients answer "3"; the runtime answers that with a noop
 * itself and records when (`getWebSocketAutoResponseTimestamp`), so pongs
 * never wake the object. At the next alarm, a socket whose last pong is older
 * than the previous ping missed it and is closed. Cost: one wake per object
 * per `pingInterval`; a silent peer is dropped at most two intervals after
 * its last sign of life.
 */

/** WebSocket close code for a socket that stopped answering pings (application range 4000-4999). */
export const CLOSE_PING_TIMEOUT = 4000;

export interface PongEvidence {
  /** When the socket was accepted (ms). */
  openedAt: number;
  /** Latest pong seen, by the runtime's auto-response or by the object itself (ms), if any. */
  lastPongAt: number | null;
}

/**
 * Whether a socket failed to answer the ping sent at `lastPingAt`.
 *
 * @example
 * missedPong({ openedAt: 0, lastPongAt: 500 }, 1_000); // true: its last pong predates the ping
 * missedPong({ openedAt: 2_000, lastPongAt: null }, 1_000); // false: it was not there yet
 */
export function missedPong(socket: PongEvidence, lastPingAt: number | null): boolean {
  if (lastPingAt === null || socket.openedAt >= lastPingAt) return false;
  return socket.lastPongAt === null || socket.lastPongAt < lastPingAt;
}
