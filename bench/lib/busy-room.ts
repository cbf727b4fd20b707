import type { DriverPool } from "./driver-pool";
import { type Flood, measureFlood, type RelayCounts, type System } from "./relay";
import { type Summary, summarize } from "./stats";

export interface BusyRoom {
  pairs: number;
  /** One message in flight per pair, all pairs at once: one-way ms. */
  latency: Summary;
  flood: Flood;
}

/**
 * One busy room: `pairs` pairs of members bouncing relays in one room whose
 * sockets all live in its object, so one object (one thread) carries it all.
 */
export async function busyRoom(
  pool: DriverPool,
  system: System,
  pairs: number,
  counts: RelayCounts,
): Promise<BusyRoom> {
  await pool.setup("busy", system.target, [{ name: `busy-${Date.now().toString(36)}`, pairs }]);
  try {
    const latency = summarize(await pool.latency("busy", counts.roundsOnePair / 10, 10));
    // One window, so a longer warm-up than the relay section's turns.
    const window = counts.windows.at(-1) ?? 8;
    const flood = await measureFlood(pool, "busy", system, { ...counts, pairs, window, warmupSeconds: 1 });
    return { pairs, latency, flood };
  } finally {
    await pool.close("busy");
  }
}
