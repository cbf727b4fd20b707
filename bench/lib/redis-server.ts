import { freePort } from "../../test/support/wrangler-dev";
import { type ChildServer, startProcess } from "./child-server";

/**
 * Starts Debian's `redis-server` (`/usr/bin/redis-server`, or `REDIS_SERVER`)
 * on a free loopback port, with nothing saved to disk, and waits until it
 * accepts connections. The caller stops it.
 *
 * @example const redis = await startRedis(); ...; await redis.stop();
 */
export async function startRedis(): Promise<ChildServer> {
  const port = await freePort();
  const binary = process.env.REDIS_SERVER ?? "/usr/bin/redis-server";
  return startProcess(binary, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
    name: "redis-server",
    timeoutMs: 10_000,
    ready: (output) => (output.includes("Ready to accept connections") ? `redis://127.0.0.1:${port}` : null),
  });
}
