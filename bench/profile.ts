/**
 * `npm run bench:profile -- [--systems seed,hop] [--windows 1,8] [--pairs 50] [--seconds 4]`:
 * a CPU profile of the worker (every object, and the RPC between them, run on
 * one isolate under `wrangler dev`) while the bench's pairs keep `window`
 * relays in flight each, read through the runtime's V8 inspector as
 * /work/shared/RUNTIME-NOTES.md "Measuring" describes. Prints, per system and
 * window, msg/s, server CPU per message, RPC batches, and the functions with
 * the most self time.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import WebSocket from "ws";
import { fetchAppToken } from "../test/support/app-token";
import type { DevServer } from "../test/support/wrangler-dev";
import { DriverPool } from "./lib/driver-pool";
import { cpuSnapshot, processTree } from "./lib/proc";
import { BENCH_VARS, startWrangler } from "./lib/systems";
import type { Target } from "./lib/targets";

const args = process.argv.slice(2);
const value = (flag: string) => {
  const at = args.indexOf(flag);
  return at >= 0 ? args[at + 1] : undefined;
};
const systems = (value("--systems") ?? "seed,hop").split(",");
const windows = (value("--windows") ?? "1,8").split(",").map(Number);
const pairs = Number(value("--pairs") ?? 50);
const seconds = Number(value("--seconds") ?? 4);
const top = Number(value("--top") ?? 25);

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/** The inspector port wrangler was started with (read from its command line). */
function inspectorPort(server: DevServer): number {
  const cmdline = readFileSync(`/proc/${server.pid}/cmdline`, "utf8").split("\0");
  return Number(cmdline[cmdline.indexOf("--inspector-port") + 1]);
}

async function inspector(port: number): Promise<(method: string, params?: object) => Promise<unknown>> {
  const list = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as Array<{ webSocketDebuggerUrl: string }>;
  const url = list[0]?.webSocketDebuggerUrl ?? `ws://127.0.0.1:${port}/ws`;
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
  let next = 1;
  const pending = new Map<number, (result: unknown) => void>();
  ws.on("message", (data) => {
    const message = JSON.parse(data.toString()) as { id?: number; result?: unknown };
    if (message.id !== undefined) pending.get(message.id)?.(message.result);
  });
  return (method, params = {}) =>
    new Promise((resolve) => {
      const id = next++;
      pending.set(id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
}

function selfTimes(profile: {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}): Array<[string, number]> {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const totals = new Map<string, number>();
  for (const [i, id] of profile.samples.entries()) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    const file = frame.url.split("/").slice(-2).join("/");
    const key = `${frame.functionName || "(anonymous)"} ${file}:${frame.lineNumber + 1}`;
    totals.set(key, (totals.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  return [...totals].sort((a, b) => b[1] - a[1]);
}

async function main() {
  const server = await startWrangler({ vars: BENCH_VARS });
  const floor = await startWrangler({ config: join(import.meta.dirname, "floor/wrangler.toml") });
  const pool = await DriverPool.start(1);
  try {
    const appToken = await fetchAppToken(server.url, "bench");
    const targets: Record<string, [Target, DevServer]> = {
      seed: [{ kind: "signaling", url: server.url, appToken, app: "bench", placement: "own" }, server],
      zero: [{ kind: "signaling", url: server.url, appToken, app: "bench", placement: "room" }, server],
      hop: [{ kind: "floor", url: floor.url, frameBytes: 438, path: "hop" }, floor],
      "hop-now": [{ kind: "floor", url: floor.url, frameBytes: 438, path: "hop", mode: "now" }, floor],
      "hop-turn": [{ kind: "floor", url: floor.url, frameBytes: 438, path: "hop", mode: "turn" }, floor],
      floor: [{ kind: "floor", url: floor.url, frameBytes: 438 }, floor],
    };
    const sessions = new Map<DevServer, Awaited<ReturnType<typeof inspector>>>();
    for (const key of systems) {
      const [target, dev] = targets[key] as [Target, DevServer];
      const rooms = Array.from({ length: pairs }, (_, i) => ({
        name: `${key}-${Date.now().toString(36)}-${i}`,
        pairs: 1,
      }));
      await pool.setup(key, target, rooms);
      // One inspector session per runtime: a second one to the same runtime was seen to hang.
      let send = sessions.get(dev);
      if (!send) {
        send = await inspector(inspectorPort(dev));
        sessions.set(dev, send);
        await send("Profiler.enable");
        await send("Profiler.setSamplingInterval", { interval: 100 });
      }
      for (const window of windows) {
        await pool.floodStart(key, window);
        await new Promise((r) => setTimeout(r, 500));
        const pids = processTree(dev.pid, "workerd");
        const before = { count: await pool.count(key), cpu: cpuSnapshot(pids) };
        await send("Profiler.start");
        await new Promise((r) => setTimeout(r, seconds * 1000));
        const { profile } = (await send("Profiler.stop")) as { profile: Parameters<typeof selfTimes>[0] };
        const after = { count: await pool.count(key), cpu: cpuSnapshot(pids) };
        await pool.floodStop(key);
        const messages = after.count.messages - before.count.messages;
        const cpuMs = after.cpu.totalMs - before.cpu.totalMs;
        const sampled = profile.timeDeltas.reduce((a, b) => a + b, 0) / 1000;
        console.log(
          `\n## ${key}, ${pairs} pairs, window ${window}: ${(messages / seconds).toFixed(0)} msg/s, ` +
            `server ${((cpuMs / messages) * 1000).toFixed(1)} µs/msg, profile ${sampled.toFixed(0)} ms`,
        );
        const idle = new Set(["(idle)", "(program)"]);
        for (const [name, micros] of selfTimes(profile).slice(0, top)) {
          const tag = idle.has(name.split(" ")[0] ?? "") ? "" : `${((micros / messages) * 1).toFixed(2)} µs/msg`;
          console.log(`${(micros / 1000).toFixed(1).padStart(8)} ms  ${tag.padStart(14)}  ${name}`);
        }
      }
      await pool.close(key);
    }
  } finally {
    pool.stop();
    await Promise.all([server.stop(), floor.stop()]);
  }
}

await main();
process.exit(0);
