import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Env } from "../../src/env";
import worker from "../../src/worker";

/** wrangler.toml's `UPGRADE_LIMITER`: 100 upgrades per address in 10 s. */
const LIMIT = 100;
/** More than the binding can let through in a burst: its windows are aligned to the clock, so one burst may span two. */
const BURST = 2 * LIMIT + 50;

/**
 * Upgrades from `address`, one after another, until one is refused 429 or
 * `count` were answered: their statuses. No token: an upgrade the limiter lets
 * through is answered 401 by the worker, so no Durable Object wakes either way.
 */
async function upgrades(address: string, vars: Env, count = BURST): Promise<number[]> {
  const statuses: number[] = [];
  while (statuses.length < count && !statuses.includes(429)) {
    const res = await worker.fetch(
      new Request("https://edge.test/socket.io/?EIO=4&transport=websocket&app=demo&room=limited", {
        headers: { Upgrade: "websocket", "cf-connecting-ip": address },
      }),
      vars,
    );
    await res.arrayBuffer();
    statuses.push(res.status);
  }
  return statuses;
}

describe("new sockets per client address (UPGRADE_LIMITER)", () => {
  it(`refuses the upgrade after ${LIMIT} (at most ${2 * LIMIT} across two windows) with 429 ERR_TOO_MANY_SOCKETS`, async () => {
    const statuses = await upgrades("198.51.100.21", env);
    const refused = statuses.indexOf(429);
    expect(refused).toBeGreaterThanOrEqual(LIMIT);
    expect(refused).toBeLessThanOrEqual(2 * LIMIT);
    expect(statuses.slice(0, refused).every((status) => status === 401)).toBe(true);

    const res = await worker.fetch(
      new Request("https://edge.test/socket.io/?EIO=4&transport=websocket", {
        headers: { Upgrade: "websocket", "cf-connecting-ip": "198.51.100.21" },
      }),
      env,
    );
    expect(res.status).toBe(429);
    expect(res.headers.get("Retry-After")).toBe("10");
    expect(await res.json()).toMatchObject({ code: 4, reason: "ERR_TOO_MANY_SOCKETS" });
  });

  it(`with UPGRADE_LIMIT=off, lets the same burst of ${BURST} through, and does not count it`, async () => {
    const address = "198.51.100.22";
    const statuses = await upgrades(address, { ...env, UPGRADE_LIMIT: "off" });
    expect(statuses).toHaveLength(BURST);
    expect(statuses.every((status) => status === 401)).toBe(true);
    // The limiter was skipped, not merely generous: switched back on, it has nothing against this address.
    expect(await upgrades(address, env, 1)).toEqual([401]);
  });
});
