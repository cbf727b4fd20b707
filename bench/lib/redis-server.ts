import { spawn } from "node:child_process";
import { freePort } from "../../test/support/wrangler-dev";

/** A `redis-server` the bench started, on loopback. */
export interface RedisServer {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * Starts Debian's `redis-server` (`/usr/bin/redis-server`, or `REDIS_SERVER`)
 * on a free loopback port, with nothing saved to disk, and waits until it
 * accepts connections. The caller stops it.
 *
 * @example const redis = await startRedis(); ...; await redis.stop();
 */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const binary = process.env.REDIS_SERVER ?? "/usr/bin/redis-server";
  const child = spawn(binary, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const orphanGuard = () => child.kill("SIGKILL");
  process.once("exit", orphanGuard);
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${output}`)), 10_000);
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("Ready to accept connections")) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on("data", read);
    child.stderr.on("data", read);
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`redis-server exited with ${code}:\n${output}`)));
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    pid: child.pid ?? 0,
    stop: async () => {
      process.off("exit", orphanGuard);
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
