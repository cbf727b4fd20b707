import { authOverdue } from "./auth-deadline";

/**
 * Engine.IO heartbeats across hibernation, decided in pure code.
 *
 * The server pings every socket of an object at once, from one alarm every
 * `pingInterval`. Clients answer "3"; the runtime answers that with a noop
 * itself and records when (`getWebSocketAutoResponseTimestamp`), so pongs
 * never wake the object. At the next alarm, a socket whose last pong is older
 * than the previous ping missed it and is closed (an alarm that comes within
 * `pingTimeout` of a ping, for other work, judges nothing). Cost: one wake per object
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

/**
 * Whether an alarm at `now` should judge and ping the sockets. An alarm can
 * come early, for other work (a join request's expiry), right after a ping:
 * sockets get `pingTimeout` to answer before they are judged.
 *
 * @example
 * heartbeatDue(null, 5_000, 30_000); // true: never pinged
 * heartbeatDue(1_000, 5_000, 30_000); // false: pongs may still be on their way
 */
export function heartbeatDue(lastPingAt: number | null, now: number, pingTimeout: number): boolean {
  return lastPingAt === null || now - lastPingAt >= pingTimeout;
}

/** What the sweep of an alarm does with one socket. */
export type SweepVerdict = "close-auth-timeout" | "close-ping-timeout" | "ping" | "keep";

/**
 * Judges one socket at an alarm: past its auth deadline, it is closed; when
 * a ping is due, one that missed the previous ping is closed and the others
 * are pinged; otherwise (an early alarm) it is kept as it is.
 *
 * @example
 * judgeSocket({ openedAt: 0, authenticated: true, lastPongAt: 500 }, { now: 61_000, lastPingAt: 1_000, pingDue: true, authTimeout: 30_000 });
 * // "close-ping-timeout": its last pong predates the last ping
 */
export function judgeSocket(
  socket: { openedAt: number; authenticated: boolean; lastPongAt: number | null },
  at: { now: number; lastPingAt: number | null; pingDue: boolean; authTimeout: number },
): SweepVerdict {
  if (authOverdue(socket, at.authTimeout, at.now)) return "close-auth-timeout";
  if (!at.pingDue) return "keep";
  return missedPong(socket, at.lastPingAt) ? "close-ping-timeout" : "ping";
}
