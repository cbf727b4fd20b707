/**
 * `npm run bench`: this server against a runtime floor, a machine floor and
 * a stock Node socket.io server running the same signaling rules, in one run.
 *
 * Everything runs here, on loopback: this server under `wrangler dev` (the
 * way `npm start` runs it, state in a throw-away folder), the runtime floor
 * (bench/floor: a Durable Object that only forwards frames) under `wrangler
 * dev` too, the Node socket.io server (bench/node-server) and the machine
 * floor (bench/machine-floor: a `ws` relay) as Node processes of their own.
 * All are driven by the same raw-frame clients in driver processes
 * (bench/lib/driver-process.ts); the CPU of each system's processes is read
 * from /proc while it is driven.
 *
 * Prints the report and writes it, with the raw numbers, to bench/out/
 * (ignored by git): bench/RESULTS.md is a hand-kept record, not output.
 * Options: see {@link USAGE}.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { busyRoom } from "./lib/busy-room";
import { DriverPool } from "./lib/driver-pool";
import { startIdleWindow } from "./lib/idle";
import { memoryPerSocket } from "./lib/memory";
import { readOptions, USAGE } from "./lib/options";
import { processTree } from "./lib/proc";
import { measureRelays, type RelayResult } from "./lib/relay";
import { type Results, renderReport } from "./lib/report";
import { callSetupBatches } from "./lib/scale";
import { startSystems } from "./lib/systems";

const out = join(import.meta.dirname, "out");
const log = (line: string) => console.log(line);

async function main() {
  if (process.argv.includes("--help")) return log(USAGE);
  const options = readOptions(process.argv.slice(2));
  const has = (section: string) => options.sections.includes(section as never);
  const started = performance.now();
  const results: Results = {
    meta: {
      date: new Date().toISOString().slice(0, 10),
      machine: cpus()[0]?.model ?? "unknown CPU",
      cores: cpus().length,
      memoryGiB: totalmem() / 2 ** 30,
      node: process.version,
      quick: options.quick,
      drivers: options.drivers,
      deflate: options.deflate,
      counts: options.relay,
    },
  };
  log(`edge-signaling benchmark${options.quick ? " (quick)" : ""}: ${options.sections.join(", ")}`);

  // Idle sockets cost no CPU worth measuring, and their wakes are counted by their own server, whatever
  // else the machine does: the idle window runs alongside the other sections instead of after them.
  if (has("idle")) log(`idle cost: ${options.idleSeconds} s with default heartbeats, in the background`);
  const idle = has("idle") ? await startIdleWindow(options.idleSeconds, options.idleSockets) : undefined;

  if (has("relay") || has("busy") || has("setup")) {
    const running = await startSystems(
      options.baseline ? { deflate: options.deflate, baseline: options.baseline } : { deflate: options.deflate },
    );
    const pool = await DriverPool.start(options.drivers);
    try {
      results.frameBytes = running.frameBytes;
      if (has("relay")) {
        const chosen = running.systems.filter((s) =>
          options.systems.length === 0 ? !s.optional : options.systems.includes(s.key),
        );
        log(`relay: ${chosen.map((system) => system.key).join(", ")}`);
        const measured = await measureRelays(pool, chosen, options.relay, log);
        results.relay = Object.fromEntries(
          chosen.map((system) => [system.key, { name: system.name, ...(measured[system.key] as RelayResult) }]),
        );
      }
      const zero = running.systems.find((system) => system.key === "zero");
      if (has("busy") && zero) {
        log(`relay: one busy room (${options.busyRoomPairs} pairs in one room's object)`);
        results.busyRoom = await busyRoom(pool, zero, options.busyRoomPairs, options.relay);
      }
      if (has("setup")) {
        log("call set-up at scale");
        const { url, pid } = running.server;
        const serverPids = () => processTree(pid, "workerd");
        results.callSetup = await callSetupBatches(url, running.appToken, options.setupBatches, serverPids, log);
      }
    } finally {
      pool.stop();
      await running.stop();
    }
  }

  // After the timed sections: connecting a thousand sockets would disturb them. Resident memory does not depend on CPU load.
  if (has("memory")) {
    log("memory of the local runtime per idle socket");
    results.memory = await memoryPerSocket(options.memorySockets);
  }
  if (idle) results.idle = await idle.result;

  results.meta.seconds = (performance.now() - started) / 1000;
  const report = renderReport(results);
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(out, "report.md"), report);
  log(`\n${report}`);
  log(`Took ${results.meta.seconds.toFixed(0)} s. Written to bench/out/report.md and bench/out/results.json.`);
}

await main();
// socket.io-clients' timers may linger after their sockets closed; the run is over.
process.exit(0);
