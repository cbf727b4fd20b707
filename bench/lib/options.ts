import { cpus } from "node:os";
import type { RelayCounts } from "./relay";

/** The sections of a run, in the order they run. */
export const SECTIONS = ["relay", "busy", "setup", "idle", "memory"] as const;
export type Section = (typeof SECTIONS)[number];

export interface BenchOptions {
  quick: boolean;
  sections: Section[];
  /** Keys of the systems the relay section measures (machine, floor, hop, hop-rpc, hop-turn, node, redis, zero, seed, zero-base, seed-base); all but hop-rpc and hop-turn if empty. */
  systems: string[];
  /** Driver processes. */
  drivers: number;
  /** Relay clients offer permessage-deflate. */
  deflate: boolean;
  /** Another checkout of this project, measured beside this one (systems zero-base, seed-base). */
  baseline?: string;
  relay: RelayCounts;
  busyRoomPairs: number;
  /** Rooms set up 50 at a time, per batch. */
  setupBatches: number[];
  idleSeconds: number;
  idleSockets: number;
  memorySockets: number;
}

export const USAGE =
  "npm run bench -- [--quick] [--only relay,busy,setup,idle,memory] [--systems machine,floor,hop,hop-rpc,hop-turn,node,redis,zero,seed,zero-base,seed-base] " +
  "[--drivers N] [--window N[,N...]] [--pairs N] [--baseline DIR] [--deflate] [--idle-seconds N]";

/**
 * Reads the command line.
 *
 * @example readOptions(["--quick", "--only", "relay"]) // quick counts, the relay comparison alone
 */
export function readOptions(args: string[]): BenchOptions {
  const value = (flag: string) => {
    const at = args.indexOf(flag);
    return at >= 0 ? args[at + 1] : undefined;
  };
  const quick = args.includes("--quick");
  const only = value("--only");
  const sections = only ? (only.split(",") as Section[]) : [...SECTIONS];
  for (const section of sections) {
    if (!SECTIONS.includes(section)) throw new Error(`unknown section "${section}"; ${USAGE}`);
  }
  const baseline = value("--baseline");
  return {
    ...(baseline ? { baseline } : {}),
    quick,
    sections,
    systems: value("--systems")?.split(",") ?? [],
    // One driver process handles about 100,000 relayed messages a second, more than any system here;
    // each more one on a small machine only takes cores from the server.
    drivers: Number(value("--drivers")) || Math.max(1, Math.floor(cpus().length / 4)),
    deflate: args.includes("--deflate"),
    relay: {
      roundsOnePair: quick ? 300 : 2000,
      warmupOnePair: 100,
      latencyTurns: 10,
      // More pairs keep a server with a slow relay (Node + Redis: a pub/sub round trip per relay)
      // busy with one relay in flight each, where 50 leave it waiting: its throughput is then judged.
      pairs: Number(value("--pairs")) || 50,
      // One relay in flight per pair, as ICE candidates trickle, and several, as a burst of them.
      windows: value("--window")?.split(",").map(Number) ?? [1, 8],
      seconds: quick ? 3 : 10,
      // Turns of 2 s: long enough for a window's warm-up (0.5 s) to cost little, short enough that
      // load coming and going on a shared machine lands on every system alike.
      floodTurns: quick ? 3 : 5,
      warmupSeconds: 0.5,
      setupRooms: 50,
    },
    busyRoomPairs: 10,
    setupBatches: quick ? [1, 100] : [1, 100, 1000],
    // Whole ping intervals (60 s), so that each object's periodic wakes count the same whatever
    // their phase: over 150 s, a socket first pinged at 30 s (its auth deadline) showed 3 wakes
    // and one first pinged at 60 s showed 2, for the same one wake a minute.
    idleSeconds: Number(value("--idle-seconds")) || (quick ? 60 : 180),
    idleSockets: quick ? 20 : 100,
    memorySockets: quick ? 200 : 1000,
  };
}
