import { boundLabel, comparable, plus, throughputRatio, times } from "./format";
import type { Bound, Flood } from "./relay";
import type { Results } from "./report";

/** The team's targets (issue #10), checked against this run's own floors. */
export function renderTargets(results: Results): string[] {
  const relay = results.relay ?? {};
  const { floor, hop, node, zero, seed, machine } = relay;
  const rows: Array<[string, string, boolean | null]> = [];
  const check = (label: string, value: string, met: boolean) => rows.push([label, value, met]);
  /** A throughput target: judged only when both sides were server-bound ("not judged" otherwise). */
  const checkThroughput = (label: string, system: Flood, against: Flood, atLeast: number, above = false) => {
    const ratio = system.messagesPerSecond / against.messagesPerSecond;
    const met = above ? ratio > atLeast : ratio >= atLeast;
    rows.push([label, throughputRatio(system, against, 3), comparable(system, against) ? met : null]);
  };
  if (floor && zero) {
    checkThroughput("zero hops: 50-pair msg/s ≥ 0.67× the runtime floor's", zero.flood, floor.flood, 0.67);
    if (node) {
      checkThroughput("zero hops: 50-pair msg/s above the Node socket.io server's", zero.flood, node.flood, 1, true);
    }
    const p50 = zero.onePair.p50 / floor.onePair.p50;
    check("zero hops: 1-pair p50 ≤ 1.5× the runtime floor's", times(p50, 1, 3), p50 <= 1.5);
    const cpu = zero.flood.serverCpuMsPerMessage / floor.flood.serverCpuMsPerMessage;
    check("zero hops: server CPU per message ≤ 1.5× the runtime floor's", times(cpu, 1, 3), cpu <= 1.5);
    check(
      "zero hops: set-up p50 ≤ the runtime floor's + 8 ms",
      plus(zero.setup.p50, floor.setup.p50),
      zero.setup.p50 <= floor.setup.p50 + 8,
    );
  }
  if (floor && seed) {
    checkThroughput("seed-style: 50-pair msg/s ≥ 0.5× the runtime floor's", seed.flood, floor.flood, 0.5);
    const p50 = seed.onePair.p50 / floor.onePair.p50;
    check("seed-style: 1-pair p50 ≤ 2× the runtime floor's", times(p50, 1, 3), p50 <= 2);
    check(
      "seed-style: set-up p50 ≤ the runtime floor's + 15 ms",
      plus(seed.setup.p50, floor.setup.p50),
      seed.setup.p50 <= floor.setup.p50 + 15,
    );
  }
  for (const row of [machine, floor, hop]) {
    if (row) check(`${row.name}: throughput server-bound`, boundLabel(row.flood), row.flood.bound === "server");
  }
  const biggest = (placement: "room" | "own") =>
    results.callSetup?.filter((r) => r.placement === placement).sort((a, b) => b.rooms - a.rooms)[0];
  for (const placement of ["room", "own"] as const) {
    const row = biggest(placement);
    if (row) {
      check(
        `${row.rooms} rooms of 2 set up (${placement === "room" ? "zero hops" : "seed-style"}) with no errors`,
        `${row.errors} errors, ${(row.rooms / row.seconds).toFixed(0)} rooms/s`,
        row.errors === 0,
      );
    }
  }
  if (results.idle) {
    const idle = results.idle;
    check(
      "at most 1 wake per idle socket per minute",
      `${idle.wakesPerSocketPerMinuteAlone.toFixed(2)} alone (${idle.wakesPerSocketPerMinute.toFixed(2)} overall)`,
      idle.wakesPerSocketPerMinuteAlone <= 1,
    );
    const deaf = idle.deafNoticedAfterSeconds;
    rows.push([
      "a socket that stops answering pings is closed within 2 minutes",
      deaf === null ? `not within the ${idle.seconds} s window` : `${deaf.toFixed(0)} s`,
      // Heartbeats come every 60 s: a window shorter than two of them and a little says nothing.
      deaf === null && idle.seconds < 130 ? null : deaf !== null && deaf <= 125,
    ]);
  }
  if (rows.length === 0) return [];
  return [
    "## Against the targets (ratios within this run)",
    "",
    "| target | this run | |",
    "| --- | --- | --- |",
    ...rows.map(
      ([label, value, met]) => `| ${label} | ${value} | ${met === null ? "not judged" : met ? "met" : "**missed**"} |`,
    ),
    "",
    ...(floor && floor.flood.bound !== "server" ? [unboundFloor(floor.flood.bound), ""] : []),
  ];
}

/** Why the runtime floor's throughput is not its own, and what to do about it. */
function unboundFloor(bound: Exclude<Bound, "server">): string {
  const advice: Record<Exclude<Bound, "server">, string> = {
    both: "the driver was saturated as well, and may have held it back: add `--drivers` on a machine with more cores",
    driver: "the driver was the bottleneck: add `--drivers`",
    neither: "too few relays were in flight: raise `--window`",
    "shared CPU":
      "driver and server shared too few cores for either to saturate: compare CPU per message, or use a machine with more cores",
    "other load": "other processes took part of the CPU: run on a quiet machine",
  };
  return (
    "The runtime floor was not server-bound in this run, so throughput ratios to it do not measure the server " +
    `(${advice[bound]}).`
  );
}
