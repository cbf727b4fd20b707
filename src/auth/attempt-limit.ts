/**
 * Failed `POST /app` attempts in a sliding window: after `maxFailures`
 * failures within `windowMs`, further attempts are refused (429) until the
 * oldest of them leaves the window. Pure: the state is a list of timestamps,
 * kept by a Durable Object per client address and by one for all of them.
 *
 * An attempt is counted as a failure *before* its password is checked (a
 * reservation) and given back only if the password was right, so attempts
 * racing each other can never check more than `maxFailures` passwords.
 */
export interface AttemptPolicy {
  maxFailures: number;
  windowMs: number;
}

/** The answer to one attempt: go ahead (recorded at `at`), or wait `retryAfterMs`. */
export type Permit = { granted: true; at: number } | { granted: false; retryAfterMs: number };

/**
 * How long (ms) the caller must wait before trying again; 0 means it may try now.
 *
 * @example retryAfter([1000, 2000], 3000, { maxFailures: 2, windowMs: 60_000 }) === 58_000
 */
export function retryAfter(failures: number[], now: number, policy: AttemptPolicy): number {
  const recent = recentFailures(failures, now, policy);
  if (recent.length < policy.maxFailures) return 0;
  const oldestThatCounts = recent[recent.length - policy.maxFailures] as number;
  return oldestThatCounts + policy.windowMs - now;
}

/**
 * Reserves one attempt: refuses it, or grants it and returns the failures to
 * store with it already counted (at `now`).
 *
 * @example
 * reserveAttempt([], 5, { maxFailures: 1, windowMs: 60_000 })
 * // { permit: { granted: true, at: 5 }, failures: [5] }
 */
export function reserveAttempt(
  failures: number[],
  now: number,
  policy: AttemptPolicy,
): { permit: Permit; failures: number[] } {
  const recent = recentFailures(failures, now, policy);
  const waitMs = retryAfter(recent, now, policy);
  if (waitMs > 0) return { permit: { granted: false, retryAfterMs: waitMs }, failures: recent };
  return { permit: { granted: true, at: now }, failures: [...recent, now].slice(-policy.maxFailures) };
}

/**
 * Gives a granted reservation back: one failure recorded at `at` is removed.
 *
 * @example releaseAttempt([1, 5, 5], 5) // [1, 5]
 */
export function releaseAttempt(failures: number[], at: number): number[] {
  const index = failures.indexOf(at);
  return index === -1 ? failures : failures.toSpliced(index, 1);
}

function recentFailures(failures: number[], now: number, policy: AttemptPolicy): number[] {
  return failures.filter((at) => at > now - policy.windowMs);
}
