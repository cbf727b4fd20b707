/**
 * Decides when a peer connection's ICE must be restarted: at once when it fails, and when it stays
 * `disconnected` for `disconnectedGraceMs` (a moment of loss recovers by itself; a dead TURN server
 * or a changed network does not). After a restart, if ICE is not connected again within
 * `retryAfterMs`, it restarts again, waiting twice as long each time (up to `maxRetryAfterMs`): a
 * TURN server that is down for a while is tried again without flooding signaling.
 *
 * PeerJS closed calls on the first `disconnected` (peers/peerjs#650); here nothing is closed.
 * Timers are injected so that the rule is unit-tested with a fake clock.
 */

export interface IceWatchdogOptions {
  /** Asks for an ICE restart (fresh TURN credentials, `restartIce()`, a new offer). */
  restart(): void;
  disconnectedGraceMs?: number;
  retryAfterMs?: number;
  maxRetryAfterMs?: number;
}

export const DEFAULT_DISCONNECTED_GRACE_MS = 3_000;
export const DEFAULT_RETRY_AFTER_MS = 8_000;
export const DEFAULT_MAX_RETRY_AFTER_MS = 30_000;

/**
 * @example
 * const watchdog = new IceWatchdog({ restart: () => peer.restartIce() });
 * pc.addEventListener("iceconnectionstatechange", () => watchdog.update(pc.iceConnectionState));
 */
export class IceWatchdog {
  readonly #restart: () => void;
  readonly #graceMs: number;
  readonly #retryMs: number;
  readonly #maxRetryMs: number;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #nextRetryMs: number;
  /** Restarts since ICE was last connected. */
  #restarts = 0;
  #stopped = false;
  /** The timer is a restart's retry (not the grace of a `disconnected`). */
  #retrying = false;

  constructor(options: IceWatchdogOptions) {
    this.#restart = options.restart;
    this.#graceMs = options.disconnectedGraceMs ?? DEFAULT_DISCONNECTED_GRACE_MS;
    this.#retryMs = options.retryAfterMs ?? DEFAULT_RETRY_AFTER_MS;
    this.#maxRetryMs = options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
    this.#nextRetryMs = this.#retryMs;
  }

  /** Restarts since ICE was last connected (0 while it is). */
  get restarts(): number {
    return this.#restarts;
  }

  /** Feed every `iceConnectionState`. */
  update(state: string): void {
    if (this.#stopped) return;
    switch (state) {
      case "connected":
      case "completed":
        this.#clear();
        this.#restarts = 0;
        this.#nextRetryMs = this.#retryMs;
        return;
      case "failed":
        // A restart under way has its retry timer: failing again before it is no reason to hurry.
        if (!this.#retrying) this.#restartNow();
        return;
      case "disconnected":
        if (this.#timer === null) this.#timer = setTimeout(() => this.#restartNow(), this.#graceMs);
        return;
      case "closed":
        this.stop();
        return;
      default:
        // new, checking: a restart's retry timer, if any, keeps running.
        return;
    }
  }

  /** Restart now (say, after signaling came back and ICE is not connected). */
  restartNow(): void {
    if (!this.#stopped) this.#restartNow();
  }

  stop(): void {
    this.#stopped = true;
    this.#clear();
  }

  #restartNow(): void {
    this.#clear();
    this.#restarts += 1;
    const wait = this.#nextRetryMs;
    this.#nextRetryMs = Math.min(this.#maxRetryMs, this.#nextRetryMs * 2);
    this.#timer = setTimeout(() => this.#restartNow(), wait);
    this.#retrying = true;
    this.#restart();
  }

  #clear(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#retrying = false;
  }
}
