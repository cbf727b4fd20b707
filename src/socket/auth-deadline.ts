import type { ConnectionState } from "../signaling/connection-state";
import { CLOSE_POLICY_VIOLATION } from "./connection";

/**
 * A socket must pass `auth-request` within `AUTH_TIMEOUT_MS` of opening, or
 * it is closed: a connection that never proves an app token has no business
 * holding a place (and a share of the object's attention) in a room's object.
 */

/** WebSocket close code for a socket that never authenticated: a policy violation. */
export const CLOSE_AUTH_TIMEOUT = CLOSE_POLICY_VIOLATION;

/**
 * When the socket must have authenticated by (ms), or null once it has.
 *
 * @example authDeadline({ openedAt: 1_000, authenticated: false }, 30_000) // 31000
 */
export function authDeadline(
  state: Pick<ConnectionState, "openedAt" | "authenticated">,
  timeout: number,
): number | null {
  return state.authenticated ? null : state.openedAt + timeout;
}

/**
 * Whether the socket is past its deadline at `now`.
 *
 * @example authOverdue({ openedAt: 0, authenticated: false }, 30_000, 30_000) // true
 */
export function authOverdue(
  state: Pick<ConnectionState, "openedAt" | "authenticated">,
  timeout: number,
  now: number,
): boolean {
  const deadline = authDeadline(state, timeout);
  return deadline !== null && now >= deadline;
}
