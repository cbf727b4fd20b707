/**
 * Failed `POST /app` attempts per client address, in a sliding window: after
 * `maxFailures` failures within `windowMs`, the address is refused (429)
 * until the oldest of them leaves the window. Pure: the state is a list of
 * timestamps, kept by a Durable Object per address.
 */
export interface AttemptPolicy {
  maxFailures: number;
  windowMs: number;
}

/**
 * How long (ms) the address must wait before trying again; 0 means it may try now.
 *
 * @example retryAfter([1000, 2000], 3000, { maxFailures: 2, windowMs: 60_000 }) === 58_000
 */
export function retryAfter(failures: number[], now: number, policy: AttemptPolicy): number {
  const recent = recentFailures(failures, now, policy);
  if (recent.length < policy.maxFailures) return 0;
  const oldestThatCounts = recent[recent.length - policy.maxFailures] as number;
  return oldestThatCounts + policy.windowMs - now;
}

/** The failures still inside the window, oldest first, with one more at `now`. */
export function withFailure(failures: number[], now: number, policy: AttemptPolicy): number[] {
  return [...recentFailures(failures, now, policy), now].slice(-policy.maxFailures);
}

function recentFailures(failures: number[], now: number, policy: AttemptPolicy): number[] {
  return failures.filter((at) => at > now - policy.windowMs);
}
