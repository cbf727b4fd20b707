import { boundLabel, comparable, plus, throughputRatio, times } from "./format";
import type { Bound, Flood } from "./relay";
import type { Results } from "./report";

type RelayRow = NonNullable<Results["relay"]>[string];

/** The team's targets (issues #10 and #20), checked against this run's own floors, with each window of the run. */
export function renderTargets(results: Results): string[] {
  const relay = results.relay ?? {};
  const { floor, hop, node, redis, zero, seed, machine } = relay;
  const rows: Array<[string, string, boolean | null]> = [];
  const check = (label: string, value: string, met: boolean) => rows.push([label, value, met]);
  /** A throughput target: judged only when both sides were server-bound ("not judged" otherwise). */
  const checkThroughput = (label: string, system: Flood, against: Flood, atLeast: number, above = false) => {
    const ratio = system.messagesPerSecond / against.messagesPerSecond;
    const met = above ? ratio > atLeast : ratio >= atLeast;
    rows.push([label, throughputRatio(system, against, 3), comparable(system, against) ? met : null]);
  };
  /** Each window of `system` against the same window of `against`. */
  const eachWindow = (system: RelayRow, against: RelayRow, each: (f: Flood, c: Flood, inFlight: string) => void) => {
    for (const [i, f] of system.floods.entries()) {
      const c = against.floods[i];
      if (c) each(f, c, `${f.window} in flight`);
    }
  };
  if (floor && zero) {
    eachWindow(zero, floor, (f, c, w) =>
      checkThroughput(`zero hops, ${w}: msg/s ≥ 0.67× the runtime floor's`, f, c, 0.67),
    );
    if (node) {
      eachWindow(zero, node, (f, c, w) =>
        checkThroughput(`zero hops, ${w}: msg/s above the Node socket.io server's (the goal)`, f, c, 1, true),
      );
    }
    const p50 = zero.onePair.p50 / floor.onePair.p50;
    check("zero hops: 1-pair p50 ≤ 1.5× the runtime floor's", times(p50, 1, 3), p50 <= 1.5);
    eachWindow(zero, floor, (f, c, w) => {
      const cpu = f.serverCpuMsPerMessage / c.serverCpuMsPerMessage;
      check(`zero hops, ${w}: server CPU per message ≤ 1.5× the runtime floor's`, times(cpu, 1, 3), cpu <= 1.5);
    });
    check(
      "zero hops: set-up p50 ≤ the runtime floor's + 8 ms",
      plus(zero.setup.p50, floor.setup.p50),
      zero.setup.p50 <= floor.setup.p50 + 8,
    );
  }
  if (floor && seed) {
    eachWindow(seed, floor, (f, c, w) =>
      checkThroughput(`seed-style, ${w}: msg/s ≥ 0.5× the runtime floor's`, f, c, 0.5),
    );
    if (redis) {
      eachWindow(seed, redis, (f, c, w) =>
        checkThroughput(`seed-style, ${w}: msg/s above two Node processes + Redis`, f, c, 1, true),
      );
    }
    const p50 = seed.onePair.p50 / floor.onePair.p50;
    check("seed-style: 1-pair p50 ≤ 2× the runtime floor's", times(p50, 1, 3), p50 <= 2);
    check(
      "seed-style: set-up p50 ≤ the runtime floor's + 15 ms",
      plus(seed.setup.p50, floor.setup.p50),
      seed.setup.p50 <= floor.setup.p50 + 15,
    );
  }
  for (const row of [machine, floor, hop, node, redis]) {
    if (!row) continue;
    for (const f of row.floods) {
      check(`${row.name}, ${f.window} in flight: throughput server-bound`, boundLabel(f), f.bound === "server");
    }
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
    ...(floor?.floods ?? []).flatMap((f) =>
      f.bound === "server" ? [] : [`${f.window} in flight: ${unboundFloor(f.bound)}`, ""],
    ),
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
