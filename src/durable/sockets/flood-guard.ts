import { encodeEngineMessage } from "../../protocol/engine-io";
import { failure, refusal } from "../../protocol/errors";
import { ackIdOf, encodeAck, encodeEvent } from "../../protocol/socket-io";
import { LogQuota } from "../../socket/log-quota";
import { type RateLimit, REFUSAL_WINDOW_MS, TokenBucket } from "../../socket/rate-limit";

/** Refusals logged one by one per socket and window; the rest are counted in its close line. */
const LOGGED_REFUSALS = 5;

/** What the guard decided about one frame. */
type Admission =
  /** Handle it. */
  | { kind: "admit" }
  /** Refused: send this answer (its failed ack, or a signaling-error). */
  | { kind: "refuse"; answer: string }
  /** Refused without a word: past the first few refusals of a window. */
  | { kind: "drop" }
  /** The socket is flooding: close it. `refused` counts this window's refusals, for the log. */
  | { kind: "close"; refused: number };

/**
 * The rate limit and the log quota of each socket of an object, in memory:
 * a hibernated object had idle sockets, whose buckets would be full anyway.
 * Rules in src/socket/rate-limit.ts; this keeps one bucket per socket and
 * turns its verdicts into what to send.
 */
export class FloodGuard {
  readonly #bySocket = new Map<string, { bucket: TokenBucket; logs: LogQuota }>();

  constructor(private readonly limit: () => RateLimit) {}

  /**
   * Spends a token for a frame of socket `tag`.
   *
   * @example const verdict = guard.admit(tag, frame, Date.now()); if (verdict.kind === "admit") handle(frame);
   */
  admit(tag: string, frame: string | ArrayBuffer, now: number): Admission {
    const guard = this.#of(tag, now);
    const verdict = guard.bucket.take(now);
    if (verdict === "allow") return { kind: "admit" };
    if (verdict === "drop") return { kind: "drop" };
    if (verdict === "close") return { kind: "close", refused: guard.bucket.refusedInWindow };
    const error = refusal("ERR_RATE_LIMITED");
    const ackId = typeof frame === "string" ? ackIdOf(frame) : undefined;
    const answer =
      ackId !== undefined
        ? encodeEngineMessage(encodeAck(ackId, failure(error)))
        : encodeEngineMessage(encodeEvent("signaling-error", error));
    return { kind: "refuse", answer };
  }

  /** Whether a refusal of socket `tag` may be logged now (at most a few per window). */
  mayLog(tag: string, now: number): boolean {
    return this.#of(tag, now).logs.take(now);
  }

  /** The socket is gone; returns how many refusal lines it held back. */
  forget(tag: string): number {
    const held = this.#bySocket.get(tag)?.logs.held ?? 0;
    this.#bySocket.delete(tag);
    return held;
  }

  #of(tag: string, now: number) {
    let guard = this.#bySocket.get(tag);
    if (!guard) {
      const limit = this.limit();
      guard = { bucket: new TokenBucket(limit, now), logs: new LogQuota(LOGGED_REFUSALS, REFUSAL_WINDOW_MS) };
      this.#bySocket.set(tag, guard);
    }
    return guard;
  }
}
