/**
 * A token bucket per socket: `capacity` frames at once, refilled at `rate`
 * per second. A frame that finds the bucket empty is refused; a socket that
 * keeps sending into an empty bucket (`capacity` refusals in a row) is
 * flooding and gets closed.
 */
export interface RateLimit {
  /** Frames per second, sustained. */
  rate: number;
  /** Frames allowed in one burst. */
  capacity: number;
}

export type Verdict = "allow" | "refuse" | "close";

export class TokenBucket {
  #tokens: number;
  #updatedAt: number;
  #refusedInARow = 0;

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
      this.#refusedInARow = 0;
      return "allow";
    }
    this.#refusedInARow++;
    return this.#refusedInARow >= this.limit.capacity ? "close" : "refuse";
  }
}
