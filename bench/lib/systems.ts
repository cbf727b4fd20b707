import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { signAppToken } from "../../src/auth/tokens";
import { fetchAppToken } from "../../test/support/app-token";
import { type DevServer, type DevServerOptions, startDevServer } from "../../test/support/wrangler-dev";
import { type ChildServer, startChildServer } from "./child-server";
import { processTree } from "./proc";
import { startRedis } from "./redis-server";
import type { System } from "./relay";
import { benchSocket, relayFrame, setUpCall } from "./targets";

const bench = join(import.meta.dirname, "..");

/**
 * `startDevServer`, tried again when the port it picked was taken meanwhile
 * (a free port is only free until someone binds it; tests may run beside the bench).
 */
export async function startWrangler(options: DevServerOptions): Promise<DevServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startDevServer(options);
    } catch (error) {
      if (attempt >= 3 || !String(error).includes("Address already in use")) throw error;
    }
  }
}

/** Every bench server opens hundreds of sockets from one address: no limit on new sockets per address. */
export const MANY_SOCKETS_VARS = { UPGRADE_LIMIT: "off" };

/** The benchmark measures the relay path, not the flood limiter: allow any rate. */
export const BENCH_VARS = { ...MANY_SOCKETS_VARS, RATE_LIMIT_PER_SECOND: "100000000", RATE_LIMIT_BURST: "100000000" };

export interface Running {
  /** In the order they are measured. */
  systems: System[];
  /** This server under `wrangler dev`, for the sections that need it alone. */
  server: DevServer;
  appToken: string;
  /** Bytes of the relay request the driver sends this server; the floors send frames as large. */
  frameBytes: number;
  stop(): Promise<void>;
}

/**
 * Starts everything the relay comparison drives, all on loopback: this
 * server and the runtime floor under `wrangler dev` (workerd, behind
 * wrangler's local proxy), the Node socket.io comparator as one process, and
 * as two sharing a `redis-server` (the original server's way to scale), and
 * the machine floor, as Node processes of their own. `baseline`: another
 * checkout of this project (a folder with its wrangler.toml, .dev.vars and
 * built public/vendor), run beside this one as systems "zero-base" and
 * "seed-base", so that old code and new are measured in turns in one run.
 * Systems marked `optional` run only when named in `--systems`.
 */
export async function startSystems(options: { deflate: boolean; baseline?: string }): Promise<Running> {
  const nodeSecret = randomBytes(32).toString("hex");
  const redis = await startRedis();
  const [server, runtimeFloor, nodeServer, machineFloor, nodeA, nodeB, base] = await Promise.all([
    startWrangler({ vars: BENCH_VARS }),
    startWrangler({ config: join(bench, "floor/wrangler.toml") }),
    startChildServer(join(bench, "node-server/main.ts"), { TOKEN_SECRET: nodeSecret }),
    startChildServer(join(bench, "machine-floor/main.ts")),
    startChildServer(join(bench, "node-server/main.ts"), { TOKEN_SECRET: nodeSecret, REDIS_URL: redis.url }),
    startChildServer(join(bench, "node-server/main.ts"), { TOKEN_SECRET: nodeSecret, REDIS_URL: redis.url }),
    options.baseline ? startWrangler({ vars: BENCH_VARS, config: join(options.baseline, "wrangler.toml") }) : undefined,
  ]);
  const stop = async () => {
    await Promise.all(
      [server, runtimeFloor, nodeServer, machineFloor, nodeA, nodeB, base].map((running) => running?.stop()),
    );
    await redis.stop();
  };
  try {
    const appToken = await fetchAppToken(server.url, "bench");
    const nodeAppToken = await signAppToken(nodeSecret, "bench");
    const frameBytes = await probeFrameBytes(server.url, appToken);
    const workerd = (wrangler: DevServer) => () => processTree(wrangler.pid, "workerd");
    const own = (child: ChildServer) => () => [child.pid];
    const signaling = (url: string, token: string, placement: "room" | "own") =>
      ({ kind: "signaling", url, appToken: token, app: "bench", placement }) as const;
    const systems: System[] = [
      {
        key: "machine",
        name: "machine floor (ws relay, Node process)",
        target: { kind: "floor", url: machineFloor.url, frameBytes },
        serverPids: own(machineFloor),
      },
      {
        key: "floor",
        name: "runtime floor (forwarding Durable Object)",
        target: { kind: "floor", url: runtimeFloor.url, frameBytes },
        serverPids: workerd(runtimeFloor),
      },
      {
        key: "hop",
        name: "runtime floor, one hop (each socket in its own object, frames over a WebSocket between them)",
        target: { kind: "floor", url: runtimeFloor.url, frameBytes, path: "hop" },
        serverPids: workerd(runtimeFloor),
      },
      {
        key: "hop-rpc",
        name: "runtime floor, one hop, frames by RPC (the server before the relay channel)",
        target: { kind: "floor", url: runtimeFloor.url, frameBytes, path: "hop", mode: "rpc" },
        serverPids: workerd(runtimeFloor),
        optional: true,
      },
      {
        key: "hop-turn",
        name: "runtime floor, one hop, frames by RPC, every frame waiting for the turn's end",
        target: { kind: "floor", url: runtimeFloor.url, frameBytes, path: "hop", mode: "turn" },
        serverPids: workerd(runtimeFloor),
        optional: true,
      },
      {
        key: "node",
        name: "Node socket.io 4 server, same rules",
        target: signaling(nodeServer.url, nodeAppToken, "room"),
        serverPids: own(nodeServer),
      },
      {
        key: "redis",
        name: "Node socket.io 4, two processes + Redis adapter (a pair's peers on different processes)",
        target: { ...signaling(nodeA.url, nodeAppToken, "own"), urlB: nodeB.url },
        serverPids: () => [nodeA.pid, nodeB.pid, redis.pid],
      },
      {
        key: "zero",
        name: "this server, zero hops (room in the query)",
        target: signaling(server.url, appToken, "room"),
        serverPids: workerd(server),
      },
      {
        key: "seed",
        name: "this server, seed-style (own objects)",
        target: signaling(server.url, appToken, "own"),
        serverPids: workerd(server),
      },
    ];
    if (base) {
      const baseToken = await fetchAppToken(base.url, "bench");
      systems.push(
        {
          key: "zero-base",
          name: "baseline, zero hops (room in the query)",
          target: signaling(base.url, baseToken, "room"),
          serverPids: workerd(base),
        },
        {
          key: "seed-base",
          name: "baseline, seed-style (own objects)",
          target: signaling(base.url, baseToken, "own"),
          serverPids: workerd(base),
        },
      );
    }
    for (const system of systems) system.target.deflate = options.deflate;
    return { systems, server, appToken, frameBytes, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The size of the relay request a bench pair sends this server (tokens and ids have fixed lengths). */
async function probeFrameBytes(url: string, appToken: string): Promise<number> {
  const target = { kind: "signaling", url, appToken, app: "bench", placement: "room" } as const;
  const room = `probe-${Date.now()}`;
  const a = await benchSocket(target, room, "a");
  const b = await benchSocket(target, room, "b");
  await setUpCall(room, a, b);
  a.close();
  b.close();
  return Buffer.byteLength(relayFrame(a.session, room, b.id));
}
