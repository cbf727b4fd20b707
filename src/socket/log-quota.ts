/**
 * At most `perWindow` log lines per socket in each window of `windowMs`, so a
 * peer that sends refused frames as fast as its rate limit allows cannot turn
 * each one into a log line. What is held back is counted, for the close line.
 */
export class LogQuota {
  #windowStart = Number.NEGATIVE_INFINITY;
  #used = 0;
  #held = 0;

  constructor(
    private readonly perWindow: number,
    private readonly windowMs: number,
  ) {}

  /**
   * Whether a line may be logged at `now` (ms); counts it either way.
   *
   * @example const quota = new LogQuota(3, 10_000); quota.take(0); // true
   */
  take(now: number): boolean {
    if (now - this.#windowStart >= this.windowMs) {
      this.#windowStart = now;
      this.#used = 0;
    }
    if (this.#used < this.perWindow) {
      this.#used++;
      return true;
    }
    this.#held++;
    return false;
  }

  /** Lines held back so far. */
  get held(): number {
    return this.#held;
  }
}
