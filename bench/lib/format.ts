import type { Flood } from "./relay";

/** Number formats of the report. */

/** Milliseconds, to the microsecond. */
export const ms = (x: number) => x.toFixed(3);
/** Milliseconds shown as microseconds. */
export const us = (x: number) => (x * 1000).toFixed(1);
/** `x` as a multiple of `of`: "0.59×" (or with more `digits`). */
export const times = (x: number, of: number, digits = 2) => `${(x / of).toFixed(digits)}×`;
/** `x` minus `over`, in ms, signed: "+8.0 ms". */
export const plus = (x: number, over: number) => `${x - over >= 0 ? "+" : ""}${(x - over).toFixed(1)} ms`;
/** Cores busy, and the busiest thread as a share of one core: "1.12 (76%)". */
export const cores = (c: { cores: number; busiestThread: number }) =>
  `${c.cores.toFixed(2)} (${(c.busiestThread * 100).toFixed(0)}%)`;

/**
 * Whether two throughputs may be compared: only when both were limited by
 * their server. Otherwise the ratio measures the driver, or how the
 * scheduler split shared cores.
 */
export const comparable = (a: Flood, b: Flood) => a.bound === "server" && b.bound === "server";

/** A throughput ratio, marked † when the two were not both server-bound ({@link comparable}). */
export const throughputRatio = (a: Flood, b: Flood, digits = 2) =>
  `${times(a.messagesPerSecond, b.messagesPerSecond, digits)}${comparable(a, b) ? "" : " †"}`;

/** What limited a throughput window, in words. */
export function boundLabel(flood: Flood): string {
  switch (flood.bound) {
    case "server":
      return "server";
    case "both":
      return "**server and driver** (both saturated)";
    case "driver":
      return "**driver** (not the server)";
    case "shared CPU":
      return "shared CPU (all cores busy, no thread saturated)";
    case "other load":
      return `**other load** (${flood.otherCores.toFixed(2)} cores taken by other processes)`;
    case "neither":
      return "neither (too few in flight?)";
  }
}
