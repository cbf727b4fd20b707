/**
 * A token bucket per socket: `capacity` frames at once, refilled at `rate`
 * per second. A frame that finds the bucket empty is refused.
 *
 * Refusals are counted in windows of {@link REFUSAL_WINDOW_MS}:
 * - only the first {@link ANSWERED_REFUSALS} of a window are answered (and
 *   logged); the rest are dropped without a word, so a flood cannot make the
 *   server write (or log) as fast as it is written to;
 * - a socket refused more than `capacity` times in one window is flooding,
 *   however its refusals interleave with allowed frames, and is closed. With
 *   the defaults (50/s, burst 200) a socket that sends more than about 70
 *   frames a second for ten seconds is closed; one that sends 100 a second is
 *   closed after about four.
 */
export interface RateLimit {
  /** Frames per second, sustained. */
  rate: number;
  /** Frames allowed in one burst; more refusals than this in one window close the socket. */
  capacity: number;
}

/** How long refusals are counted before the count starts again (ms). */
export const REFUSAL_WINDOW_MS = 10_000;

/** Refusals answered per window; later ones are dropped silently. */
export const ANSWERED_REFUSALS = 3;

/** allow: handle it; refuse: answer it with ERR_RATE_LIMITED; drop: ignore it; close: the socket is flooding. */
export type Verdict = "allow" | "refuse" | "drop" | "close";

export class TokenBucket {
  #tokens: number;
  #updatedAt: number;
  #windowStart = 0;
  #refusedInWindow = 0;

  constructor(
    private readonly limit: RateLimit,
    now: number,
  ) {
    this.#tokens = limit.capacity;
    this.#updatedAt = now;
  }

  /**
   * Spends one token for a frame arriving at `now` (ms).
   *
   * @example
   * const bucket = new TokenBucket({ rate: 20, capacity: 40 }, Date.now());
   * bucket.take(Date.now()); // "allow"
   */
  take(now: number): Verdict {
    const elapsed = Math.max(0, now - this.#updatedAt) / 1000;
    this.#tokens = Math.min(this.limit.capacity, this.#tokens + elapsed * this.limit.rate);
    this.#updatedAt = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return "allow";
    }
    if (now - this.#windowStart >= REFUSAL_WINDOW_MS) {
      this.#windowStart = now;
      this.#refusedInWindow = 0;
    }
    this.#refusedInWindow++;
    if (this.#refusedInWindow > this.limit.capacity) return "close";
    return this.#refusedInWindow <= ANSWERED_REFUSALS ? "refuse" : "drop";
  }

  /** Refusals counted in the current window (for the log line of a close). */
  get refusedInWindow(): number {
    return this.#refusedInWindow;
  }
}
