import { cpus } from "node:os";
import type { DriverPool } from "./driver-pool";
import { CpuTally, type CpuUse, cpuSnapshot, machineBusyMs, waitUntilQuiet } from "./proc";
import { type Summary, summarize } from "./stats";
import { type Target, timedSetUp } from "./targets";

/** A system under test: how to drive it, and which processes are its server (for their CPU). */
export interface System {
  /** Short key for results.json and room names. */
  key: string;
  name: string;
  target: Target;
  serverPids(): number[];
  /** Measured only when named in `--systems`. */
  optional?: boolean;
}

export interface RelayCounts {
  roundsOnePair: number;
  warmupOnePair: number;
  /** Latency is measured in this many turns per system, systems alternating. */
  latencyTurns: number;
  pairs: number;
  /** Relays kept in flight per pair while measuring throughput: each is measured (one as clients trickle ICE candidates, several as a burst). */
  windows: number[];
  /** Seconds of throughput measured per system, in all. */
  seconds: number;
  /** Throughput is measured in this many turns per system, systems alternating. */
  floodTurns: number;
  /** Seconds of relays before each measured window. */
  warmupSeconds: number;
  setupRooms: number;
}

/** What limited a throughput window, judged from CPU use. */
export type Bound = "server" | "both" | "driver" | "shared CPU" | "other load" | "neither";

export interface Flood {
  pairs: number;
  window: number;
  seconds: number;
  /** Windows the seconds were measured in (turns, alternating with other systems). */
  turns: number;
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
  /** Throughput with each of the run's windows (relays in flight per pair), in the order of `RelayCounts.windows`. */
  floods: Flood[];
  /** Call set-ups one after another, ms each. */
  setup: Summary;
}

/** Round trips before each turn of latency samples. */
const TURN_WARMUP_ROUNDS = 5;

/** A thread at this share of a core or more is taken as saturated. */
const SATURATED = 0.85;

/**
 * Measures every system in turns, so that each sees the machine as the others
 * do (on a shared machine, load comes and goes within a minute; systems
 * measured one after another compared a busy minute with a quiet one). First
 * latency with one pair each and one message in flight, in `latencyTurns`
 * turns per system; then throughput with `pairs` pairs each keeping `window`
 * relays in flight, in `floodTurns` windows per system, with the CPU of the
 * server and the driver over each; then call set-ups, one per system in turn.
 * Every system's pairs stay connected while the others are driven: idle
 * sockets cost nothing measurable.
 */
export async function measureRelays(
  pool: DriverPool,
  systems: System[],
  counts: RelayCounts,
  log: (line: string) => void,
): Promise<Record<string, RelayResult>> {
  const stamp = Date.now().toString(36);
  log(`relay: latency, ${systems.length} systems in turns`);
  const frameBytes = new Map<string, number>();
  for (const system of systems) {
    const room = { name: `${system.key}-one-${stamp}`, pairs: 1 };
    frameBytes.set(system.key, await pool.setup(`${system.key}-one`, system.target, [room]));
    await pool.latency(`${system.key}-one`, 0, counts.warmupOnePair);
  }
  const latencies = new Map<string, number[]>(systems.map((system) => [system.key, []]));
  const roundsPerTurn = Math.ceil(counts.roundsOnePair / counts.latencyTurns);
  for (let turn = 0; turn < counts.latencyTurns; turn++) {
    for (const system of inTurn(systems, turn)) {
      // A few round trips first: the first after a pause would find the system cold.
      latencies.get(system.key)?.push(...(await pool.latency(`${system.key}-one`, roundsPerTurn, TURN_WARMUP_ROUNDS)));
    }
  }
  for (const system of systems) await pool.close(`${system.key}-one`);

  log(`relay: throughput, ${counts.pairs} pairs per system, ${counts.floodTurns} turns each per window`);
  for (const system of systems) {
    const rooms = Array.from({ length: counts.pairs }, (_, i) => ({
      name: `${system.key}-many-${stamp}-${i}`,
      pairs: 1,
    }));
    await pool.setup(`${system.key}-many`, system.target, rooms);
  }
  const floods = new Map(
    systems.map((system) => [system.key, counts.windows.map((window) => new FloodTally({ ...counts, window }))]),
  );
  for (const [w, window] of counts.windows.entries()) {
    log(`relay: throughput, ${window} in flight per pair`);
    for (let turn = 0; turn < counts.floodTurns; turn++) {
      for (const system of inTurn(systems, turn)) {
        const tally = floods.get(system.key)?.[w] as FloodTally;
        await tally.window(pool, `${system.key}-many`, system, counts.seconds / counts.floodTurns);
      }
    }
  }
  for (const system of systems) await pool.close(`${system.key}-many`);
  // Let the servers see those sockets go before timing set-ups.
  await waitUntilQuiet(() => systems.flatMap((system) => system.serverPids()));

  log(`relay: ${counts.setupRooms} call set-ups per system, in turns`);
  const setups = new Map<string, number[]>(systems.map((system) => [system.key, []]));
  const closers: Array<() => void> = [];
  for (let i = 0; i < counts.setupRooms; i++) {
    for (const system of inTurn(systems, i)) {
      const done = await timedSetUp(system.target, `${system.key}-setup-${stamp}-${i}`);
      setups.get(system.key)?.push(done.ms);
      closers.push(done.close);
    }
  }
  for (const close of closers) close();

  return Object.fromEntries(
    systems.map((system) => [
      system.key,
      {
        frameBytes: frameBytes.get(system.key) ?? 0,
        onePair: summarize(latencies.get(system.key) ?? []),
        floods: (floods.get(system.key) ?? []).map((tally) => tally.result()),
        setup: summarize(setups.get(system.key) ?? []),
      },
    ]),
  );
}

/** The systems in the order of turn `turn`: each turn starts one later, so none is always first after a pause. */
function inTurn<T>(systems: T[], turn: number): T[] {
  const at = turn % systems.length;
  return [...systems.slice(at), ...systems.slice(0, at)];
}

/**
 * Keeps every pair of `group` busy (`window` relays in flight each) and
 * measures, over `seconds` after the warm-up, the relays done and the CPU
 * used by the server's processes and by the driver's (its processes and this
 * one), in one window.
 */
export async function measureFlood(
  pool: DriverPool,
  group: string,
  system: System,
  counts: Pick<RelayCounts, "pairs" | "seconds" | "warmupSeconds"> & { window: number },
): Promise<Flood> {
  const tally = new FloodTally(counts);
  await tally.window(pool, group, system, counts.seconds);
  return tally.result();
}

/** Relays and CPU over one or more windows of a flood, summed as if they were one. */
class FloodTally {
  #seconds = 0;
  #turns = 0;
  #messages = 0;
  #machineMs = 0;
  #errors = 0;
  #firstError: string | undefined;
  readonly #server = new CpuTally();
  readonly #driver = new CpuTally();

  constructor(private readonly counts: Pick<RelayCounts, "pairs" | "warmupSeconds"> & { window: number }) {}

  async window(pool: DriverPool, group: string, system: System, seconds: number): Promise<void> {
    const driverPids = [...pool.pids, process.pid];
    await pool.floodStart(group, this.counts.window);
    await sleep(this.counts.warmupSeconds * 1000);
    const serverPids = system.serverPids();
    const snapshot = async () => ({
      count: await pool.count(group),
      server: cpuSnapshot(serverPids),
      driver: cpuSnapshot(driverPids),
      machineMs: machineBusyMs(),
    });
    const before = await snapshot();
    await sleep(seconds * 1000);
    const after = await snapshot();
    await pool.floodStop(group);

    this.#turns++;
    this.#seconds += (after.server.at - before.server.at) / 1000;
    this.#messages += after.count.messages - before.count.messages;
    this.#machineMs += after.machineMs - before.machineMs;
    this.#server.add(before.server, after.server);
    this.#driver.add(before.driver, after.driver);
    this.#errors = after.count.errors;
    this.#firstError ??= after.count.firstError;
  }

  result(): Flood {
    const seconds = this.#seconds;
    const messages = this.#messages;
    const server = this.#server.use();
    const driver = this.#driver.use();
    const machineCores = this.#machineMs / 1000 / seconds;
    const otherCores = Math.max(0, machineCores - server.cores - driver.cores);
    const flood: Flood = {
      pairs: this.counts.pairs,
      window: this.counts.window,
      seconds,
      turns: this.#turns,
      messages,
      messagesPerSecond: messages / seconds,
      server,
      driver,
      otherCores,
      serverCpuMsPerMessage: server.ms / messages,
      driverCpuMsPerMessage: driver.ms / messages,
      bound: boundBy(server, driver, otherCores),
      errors: this.#errors,
    };
    if (this.#firstError !== undefined) flood.firstError = this.#firstError;
    return flood;
  }
}

/**
 * Server-bound when one of the server's threads (an event loop) was
 * saturated and the driver's were not; "both" when the driver's was
 * saturated too (it may be what held the server back); driver-bound when
 * the driver's was and the server's were well below; when no thread was saturated but the machine's cores were all
 * busy, "shared CPU" if server and driver kept them busy (the split is then
 * the scheduler's) or "other load" if something else took a share; "neither"
 * when the relays in flight were too few to keep anyone busy.
 */
function boundBy(server: CpuUse, driver: CpuUse, otherCores: number): Bound {
  if (server.busiestThread >= SATURATED) return driver.busiestThread >= SATURATED ? "both" : "server";
  if (driver.busiestThread >= SATURATED && server.busiestThread < 0.6) return "driver";
  const cores = cpus().length;
  if (server.cores + driver.cores + otherCores < SATURATED * cores) return "neither";
  return otherCores >= 0.25 ? "other load" : "shared CPU";
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
