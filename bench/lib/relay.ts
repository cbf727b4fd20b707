import { cpus } from "node:os";
import type { DriverPool } from "./driver-pool";
import { type CpuUse, cpuBetween, cpuSnapshot, machineBusyMs, waitUntilQuiet } from "./proc";
import { type Summary, summarize } from "./stats";
import { type Target, timedSetUp } from "./targets";

/** A system under test: how to drive it, and which processes are its server (for their CPU). */
export interface System {
  /** Short key for results.json and room names. */
  key: string;
  name: string;
  target: Target;
  serverPids(): number[];
}

export interface RelayCounts {
  roundsOnePair: number;
  warmupOnePair: number;
  pairs: number;
  /** Relays kept in flight per pair while measuring throughput. */
  window: number;
  seconds: number;
  warmupSeconds: number;
  setupRooms: number;
}

/** What limited a throughput window, judged from CPU use. */
export type Bound = "server" | "driver" | "shared CPU" | "other load" | "neither";

export interface Flood {
  pairs: number;
  window: number;
  seconds: number;
  messages: number;
  messagesPerSecond: number;
  server: CpuUse;
  driver: CpuUse;
  /** Cores busy with anything else on the machine meanwhile (other people's work, the OS). */
  otherCores: number;
  /** Server CPU per relayed message (all of the server's processes). */
  serverCpuMsPerMessage: number;
  driverCpuMsPerMessage: number;
  bound: Bound;
  errors: number;
  firstError?: string;
}

export interface RelayResult {
  frameBytes: number;
  /** One pair, one message in flight: one-way latency (half a round trip), ms. */
  onePair: Summary;
  flood: Flood;
  /** Call set-ups one after another, ms each. */
  setup: Summary;
}

/** A thread at this share of a core or more is taken as saturated. */
const SATURATED = 0.85;

/**
 * Measures one system: latency with one pair and one message in flight,
 * throughput with `pairs` pairs each keeping `window` relays in flight (and
 * the CPU of the server and of the driver meanwhile), then call set-ups one
 * after another.
 */
export async function measureRelay(pool: DriverPool, system: System, counts: RelayCounts): Promise<RelayResult> {
  const stamp = Date.now().toString(36);
  const frameBytes = await pool.setup(system.target, [{ name: `${system.key}-one-${stamp}`, pairs: 1 }]);
  const onePair = summarize(await pool.latency(counts.roundsOnePair, counts.warmupOnePair));
  await pool.close();

  await pool.setup(
    system.target,
    Array.from({ length: counts.pairs }, (_, i) => ({ name: `${system.key}-many-${stamp}-${i}`, pairs: 1 })),
  );
  const flood = await measureFlood(pool, system, counts);
  await pool.close();
  await waitUntilQuiet(system.serverPids); // let the server see those sockets go before timing set-ups

  const setups: number[] = [];
  const closers: Array<() => void> = [];
  for (let i = 0; i < counts.setupRooms; i++) {
    const done = await timedSetUp(system.target, `${system.key}-setup-${stamp}-${i}`);
    setups.push(done.ms);
    closers.push(done.close);
  }
  for (const close of closers) close();
  return { frameBytes, onePair, flood, setup: summarize(setups) };
}

/**
 * Keeps every pair the pool holds busy (`window` relays in flight each) and
 * measures, over the same `seconds`, the relays done and the CPU used by the
 * server's processes and by the driver's (its processes and this one).
 */
export async function measureFlood(
  pool: DriverPool,
  system: System,
  counts: Pick<RelayCounts, "pairs" | "window" | "seconds" | "warmupSeconds">,
): Promise<Flood> {
  const driverPids = [...pool.pids, process.pid];
  await pool.floodStart(counts.window);
  await sleep(counts.warmupSeconds * 1000);
  const serverPids = system.serverPids();
  const snapshot = async () => ({
    count: await pool.count(),
    server: cpuSnapshot(serverPids),
    driver: cpuSnapshot(driverPids),
    machineMs: machineBusyMs(),
  });
  const before = await snapshot();
  await sleep(counts.seconds * 1000);
  const after = await snapshot();
  await pool.floodStop();

  const seconds = (after.server.at - before.server.at) / 1000;
  const messages = after.count.messages - before.count.messages;
  const server = cpuBetween(before.server, after.server);
  const driver = cpuBetween(before.driver, after.driver);
  const machineCores = (after.machineMs - before.machineMs) / 1000 / seconds;
  const otherCores = Math.max(0, machineCores - server.cores - driver.cores);
  const flood: Flood = {
    pairs: counts.pairs,
    window: counts.window,
    seconds,
    messages,
    messagesPerSecond: messages / seconds,
    server,
    driver,
    otherCores,
    serverCpuMsPerMessage: server.ms / messages,
    driverCpuMsPerMessage: driver.ms / messages,
    bound: boundBy(server, driver, otherCores),
    errors: after.count.errors,
  };
  if (after.count.firstError !== undefined) flood.firstError = after.count.firstError;
  return flood;
}

/**
 * Server-bound when one of the server's threads (an event loop) was
 * saturated; driver-bound when one of the driver's was and the server's were
 * well below; when no thread was saturated but the machine's cores were all
 * busy, "shared CPU" if server and driver kept them busy (the split is then
 * the scheduler's) or "other load" if something else took a share; "neither"
 * when the relays in flight were too few to keep anyone busy.
 */
function boundBy(server: CpuUse, driver: CpuUse, otherCores: number): Bound {
  if (server.busiestThread >= SATURATED) return "server";
  if (driver.busiestThread >= SATURATED && server.busiestThread < 0.6) return "driver";
  const cores = cpus().length;
  if (server.cores + driver.cores + otherCores < SATURATED * cores) return "neither";
  return otherCores >= 0.25 ? "other load" : "shared CPU";
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
