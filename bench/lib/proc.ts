import { readdirSync, readFileSync } from "node:fs";

/**
 * What Linux says about processes (/proc): who descends from whom, how much
 * CPU each thread used, how much memory each process holds. The bench uses
 * it to charge each system under test with its own CPU, whatever the
 * driving client did meanwhile.
 */

/** Clock ticks per second of /proc's utime and stime (USER_HZ: 100 on every Linux the bench runs on). */
const TICKS_PER_SECOND = 100;

interface ProcStat {
  pid: number;
  name: string;
  ppid: number;
  /** utime + stime, in ms. */
  cpuMs: number;
}

/** "pid (name) state ppid ... utime stime ...": the name may hold spaces and parentheses, so split after the last ")". */
function readStat(path: string, pid: number): ProcStat | null {
  let stat: string;
  try {
    stat = readFileSync(path, "utf8");
  } catch {
    return null; // gone meanwhile
  }
  const close = stat.lastIndexOf(")");
  const fields = stat.slice(close + 2).split(" ");
  // After the name: state(0) ppid(1) ... utime(11) stime(12).
  return {
    pid,
    name: stat.slice(stat.indexOf("(") + 1, close),
    ppid: Number(fields[1]),
    cpuMs: ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND,
  };
}

function allProcesses(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(`/proc/${entry}/stat`, Number(entry));
    if (stat) out.push(stat);
  }
  return out;
}

/**
 * `root` and every process below it, or only those named `name` (e.g.
 * "workerd": the runtimes `wrangler dev` starts, its proxy included).
 *
 * @example processTree(wrangler.pid, "workerd") // [4211, 4230]
 */
export function processTree(root: number, name?: string): number[] {
  const all = allProcesses();
  const parent = new Map(all.map((p) => [p.pid, p.ppid]));
  const below = (pid: number): boolean => {
    for (let p: number | undefined = pid; p !== undefined && p > 1; p = parent.get(p)) if (p === root) return true;
    return false;
  };
  return all.filter((p) => below(p.pid) && (name === undefined || p.name === name)).map((p) => p.pid);
}

/** CPU used so far by a set of processes: in total, and per thread (to spot one saturated event loop). */
export interface CpuSnapshot {
  at: number;
  totalMs: number;
  /** pid -> ms */
  processes: Map<number, number>;
  /** "pid/tid" -> ms */
  threads: Map<string, number>;
}

/** Reads the CPU time of `pids` and of each of their threads. */
export function cpuSnapshot(pids: number[]): CpuSnapshot {
  const threads = new Map<string, number>();
  const processes = new Map<number, number>();
  let totalMs = 0;
  for (const pid of pids) {
    const ms = readStat(`/proc/${pid}/stat`, pid)?.cpuMs ?? 0;
    processes.set(pid, ms);
    totalMs += ms;
    let tids: string[] = [];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      const stat = readStat(`/proc/${pid}/task/${tid}/stat`, Number(tid));
      if (stat) threads.set(`${pid}/${tid}`, stat.cpuMs);
    }
  }
  return { at: performance.now(), totalMs, processes, threads };
}

/** CPU used between two snapshots. */
export interface CpuUse {
  ms: number;
  /** Average cores busy over the window. */
  cores: number;
  /** The busiest single thread, as a share of one core (1 = saturated). */
  busiestThread: number;
  /** Cores busy per process, busiest first (for wrangler dev: the worker's runtime, then its proxy, usually). */
  processes: Array<{ pid: number; cores: number }>;
}

export function cpuBetween(before: CpuSnapshot, after: CpuSnapshot): CpuUse {
  const tally = new CpuTally();
  tally.add(before, after);
  return tally.use();
}

/**
 * CPU used over several windows, as if they were one: a system driven in
 * turns with others is measured only while it is driven.
 */
export class CpuTally {
  #wallMs = 0;
  #ms = 0;
  readonly #threads = new Map<string, number>();
  readonly #processes = new Map<number, number>();

  /** Adds the CPU used between two snapshots (of the same processes). */
  add(before: CpuSnapshot, after: CpuSnapshot): void {
    this.#wallMs += after.at - before.at;
    this.#ms += after.totalMs - before.totalMs;
    for (const [thread, ms] of after.threads) {
      this.#threads.set(thread, (this.#threads.get(thread) ?? 0) + ms - (before.threads.get(thread) ?? 0));
    }
    for (const [pid, ms] of after.processes) {
      this.#processes.set(pid, (this.#processes.get(pid) ?? 0) + ms - (before.processes.get(pid) ?? 0));
    }
  }

  use(): CpuUse {
    const wallMs = this.#wallMs;
    const busiest = Math.max(0, ...this.#threads.values());
    const processes = [...this.#processes]
      .map(([pid, ms]) => ({ pid, cores: ms / wallMs }))
      .sort((a, b) => b.cores - a.cores);
    return { ms: this.#ms, cores: this.#ms / wallMs, busiestThread: busiest / wallMs, processes };
  }
}

/**
 * Waits until `pids()` use less than `cores` of CPU (measured over half a
 * second), at most `maxMs`: a server still closing a thousand sockets would
 * slow whatever is timed next. Returns the ms waited.
 */
export async function waitUntilQuiet(pids: () => number[], maxMs = 30_000, cores = 0.1): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < maxMs) {
    const before = cpuSnapshot(pids());
    await new Promise((resolve) => setTimeout(resolve, 500));
    if (cpuBetween(before, cpuSnapshot(pids())).cores < cores) break;
  }
  return performance.now() - started;
}

/** CPU time (ms) the whole machine spent busy so far: every core, every process (/proc/stat). */
export function machineBusyMs(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
  // cpu user nice system idle iowait irq softirq steal ...
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  const total = ticks.reduce((sum, t) => sum + t, 0);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  return ((total - idle) * 1000) / TICKS_PER_SECOND;
}

/**
 * Resident memory (bytes) of every process below `pid` named `workerd`: the
 * local runtime that `wrangler dev` starts.
 */
export function runtimeRss(pid: number): number {
  let total = 0;
  for (const candidate of processTree(pid, "workerd")) {
    try {
      const status = readFileSync(`/proc/${candidate}/status`, "utf8");
      total += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}
