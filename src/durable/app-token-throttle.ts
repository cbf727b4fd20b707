import { DurableObject } from "cloudflare:workers";
import { type AttemptPolicy, retryAfter, withFailure } from "../auth/attempt-limit";
import type { Env } from "../env";

const FAILURES_KEY = "failures";

/**
 * One per client address: remembers its recent failed `POST /app` attempts,
 * so password guessing is limited across every worker instance. It forgets
 * everything once the window has passed (an alarm deletes its storage).
 */
export class AppTokenThrottle extends DurableObject<Env> {
  /** Milliseconds to wait before the next attempt; 0 if it may try now. */
  async retryAfter(policy: AttemptPolicy): Promise<number> {
    return retryAfter(await this.#failures(), Date.now(), policy);
  }

  /** Records a failed attempt. */
  async failed(policy: AttemptPolicy): Promise<void> {
    const now = Date.now();
    await this.ctx.storage.put(FAILURES_KEY, withFailure(await this.#failures(), now, policy));
    await this.ctx.storage.setAlarm(now + policy.windowMs);
  }

  /** A correct password: the address starts afresh. */
  async succeeded(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }

  override async alarm(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }

  async #failures(): Promise<number[]> {
    return (await this.ctx.storage.get<number[]>(FAILURES_KEY)) ?? [];
  }
}
