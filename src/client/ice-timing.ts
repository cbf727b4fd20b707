/**
 * When TURN credentials from `GET /ice-servers` are due for a refresh. Pure, so that the rule is
 * tested without a clock: credentials are refreshed once 80% of their lifetime has passed, and
 * at least a minute before they expire (a connection set up in the last seconds of a credential's
 * life would get a TURN allocation that cannot be refreshed: coturn answers 401 to its Refresh),
 * but never before half their lifetime (short test TTLs would otherwise refresh constantly).
 */

/** Never refresh more often than this, whatever a (misconfigured) TTL says. */
export const MIN_REFRESH_MS = 1_000;
/** How long before expiry credentials are refreshed at the latest. */
export const EXPIRY_MARGIN_MS = 60_000;

/**
 * Milliseconds after the fetch at which credentials of `ttlSeconds` should be replaced.
 *
 * @example
 * refreshAfterMs(3600) // 2_880_000: at 80% of an hour
 * refreshAfterMs(120)  // 60_000: a minute before expiry
 * refreshAfterMs(10)   // 5_000: half of it
 */
export function refreshAfterMs(ttlSeconds: number): number {
  const lifetime = Math.max(0, ttlSeconds) * 1000;
  const beforeExpiry = Math.max(lifetime - EXPIRY_MARGIN_MS, lifetime * 0.5);
  return Math.max(MIN_REFRESH_MS, Math.min(lifetime * 0.8, beforeExpiry));
}

/**
 * Whether credentials fetched at `fetchedAt` (ms) with `ttlSeconds` are still good to set up a
 * connection with at `now`.
 *
 * @example
 * isFresh(0, 3600, 60_000) // true
 * isFresh(0, 10, 6_000)    // false: past its refresh point
 */
export function isFresh(fetchedAt: number, ttlSeconds: number, now: number): boolean {
  return now - fetchedAt < refreshAfterMs(ttlSeconds);
}
