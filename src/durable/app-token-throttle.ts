import { DurableObject } from "cloudflare:workers";
import { type AttemptPolicy, type Permit, releaseAttempt, reserveAttempt } from "../auth/attempt-limit";
import type { Env } from "../env";

const FAILURES_KEY = "failures";

/**
 * Recent failed `POST /app` attempts of one client address (named by
 * `addressKey`), or of all of them (the instance named "global"), so password
 * guessing is limited across every worker instance. It forgets everything
 * once the window has passed (an alarm deletes its storage).
 */
export class AppTokenThrottle extends DurableObject<Env> {
  /**
   * Reserves one attempt: refuses it, or counts it as a failure at once and
   * grants it. Atomic: the read and the write use the synchronous SQLite-backed
   * KV API with no `await` between them, so concurrent calls run one after the
   * other and never see the same free slot.
   */
  async reserve(policy: AttemptPolicy): Promise<Permit> {
    const { permit, failures } = reserveAttempt(this.#failures(), Date.now(), policy);
    if (!permit.granted) return permit;
    this.ctx.storage.kv.put(FAILURES_KEY, failures);
    await this.ctx.storage.setAlarm(permit.at + policy.windowMs);
    return permit;
  }

  /** Gives back the reservation granted at `at` (its password was right, or it was refused elsewhere). */
  release(at: number): void {
    this.ctx.storage.kv.put(FAILURES_KEY, releaseAttempt(this.#failures(), at));
  }

  /** A correct password: the address starts afresh. */
  async succeeded(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }

  override async alarm(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }

  #failures(): number[] {
    return this.ctx.storage.kv.get<number[]>(FAILURES_KEY) ?? [];
  }
}
