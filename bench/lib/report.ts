import type { BusyRoom } from "./busy-room";
import { boundLabel, comparable, cores, ms, plus, throughputRatio, times, us } from "./format";
import type { IdleCost } from "./idle";
import type { MemoryCost } from "./memory";
import type { RelayCounts, RelayResult } from "./relay";
import { renderTargets } from "./report-targets";
import type { SetupBatch } from "./scale";

/** Everything a run measured; sections left out by `--only` are absent. */
export interface Results {
  meta: {
    date: string;
    machine: string;
    cores: number;
    memoryGiB: number;
    node: string;
    quick: boolean;
    drivers: number;
    deflate: boolean;
    counts: RelayCounts;
    /** Wall time of the whole run. */
    seconds?: number;
  };
  frameBytes?: number;
  /** By system key, in the order measured: machine, floor, hop, node, redis, zero, seed (and a baseline's). */
  relay?: Record<string, RelayResult & { name: string }>;
  busyRoom?: BusyRoom;
  callSetup?: SetupBatch[];
  idle?: IdleCost;
  memory?: MemoryCost;
}

/**
 * The report of a run, in Markdown: the relay comparison (with ratios to the
 * runtime floor and to the Node socket.io server, and the team's targets),
 * then whichever other sections ran.
 */
export function renderReport(results: Results): string {
  const { meta } = results;
  const lines: string[] = ["# Benchmark run", ""];
  lines.push(
    `Machine: ${meta.cores} × ${meta.machine}, ${meta.memoryGiB.toFixed(0)} GiB, Node ${meta.node}. ` +
      `Run on ${meta.date}${meta.quick ? " (--quick)" : ""}` +
      `${meta.seconds === undefined ? "" : `, took ${meta.seconds.toFixed(0)} s`}. ` +
      `Relay frames: ${results.frameBytes ?? "?"} bytes. Driver: ${meta.drivers} process${meta.drivers === 1 ? "" : "es"} of raw-frame \`ws\` clients, ` +
      `permessage-deflate ${meta.deflate ? "offered (as browsers do)" : "not offered"}.`,
    "",
  );
  if (results.relay) lines.push(...renderRelay(results.relay, meta.counts, meta.cores));
  if (results.busyRoom) lines.push(...renderBusyRoom(results.busyRoom, results.relay ?? {}));
  if (results.callSetup) lines.push(...renderCallSetup(results.callSetup));
  if (results.idle) lines.push(...renderIdle(results.idle));
  if (results.memory) lines.push(...renderMemory(results.memory));
  lines.push(...renderTargets(results));
  lines.push(READING_NOTES);
  return `${lines.join("\n")}\n`;
}

function renderRelay(relay: NonNullable<Results["relay"]>, counts: RelayCounts, machineCores: number): string[] {
  const lines = ["## Relay: latency, throughput, set-up and CPU per message", ""];
  const windows = counts.windows;
  lines.push(
    `| system | 1 pair p50 ms | 1 pair p99 ms | set-up p50 ms | ${windows.map((w) => `${counts.pairs} pairs msg/s, ${w} in flight | server CPU µs/msg, ${w} in flight`).join(" | ")} |`,
    `| --- | --- | --- | --- | ${windows.map(() => "--- | ---").join(" | ")} |`,
  );
  for (const r of Object.values(relay)) {
    const floods = r.floods.map(
      (f) => `${f.messagesPerSecond.toFixed(0)}${f.bound === "server" ? "" : " †"} | ${us(f.serverCpuMsPerMessage)}`,
    );
    lines.push(
      `| ${r.name} | ${ms(r.onePair.p50)} | ${ms(r.onePair.p99)} | ${r.setup.p50.toFixed(1)} | ${floods.join(" | ")} |`,
    );
  }
  lines.push(
    "",
    "† Not server-bound (see the next table): that throughput measures how the machine was shared, not the server.",
    "",
    "| system | in flight per pair | msg/s | server CPU µs/msg | server cores (busiest thread) | driver cores (busiest thread) | limited by |",
    "| --- | --- | --- | --- | --- | --- | --- |",
  );
  for (const r of Object.values(relay)) {
    for (const f of r.floods) {
      lines.push(
        `| ${r.name} | ${f.window} | ${f.messagesPerSecond.toFixed(0)} | ${us(f.serverCpuMsPerMessage)} | ${cores(f.server)} | ${cores(f.driver)} | ${boundLabel(f)} |`,
      );
    }
  }
  lines.push(...renderRatios(relay, windows));
  const errors = Object.values(relay).filter((r) => r.floods.some((f) => f.errors > 0));
  lines.push(
    "",
    `How: the systems are measured in turns, not one after another, so that load coming and going on the machine ` +
      `lands on each alike. Latency is one pair, one relay in flight, ${counts.roundsOnePair} round trips after ` +
      `${counts.warmupOnePair} (one-way = half a round trip), in ${counts.latencyTurns} turns per system. ` +
      `Throughput is ${counts.pairs} pairs, each keeping ${windows.join(", then ")} relay${windows.length > 1 || windows[0] !== 1 ? "s" : ""} in flight ` +
      `(one: ICE candidates trickling, each answered before the next; several: a burst), ${counts.seconds} s per window in ` +
      `${counts.floodTurns} turns per system, each after ${counts.warmupSeconds} s of warm-up; msg/s counts relayed ` +
      `messages (two per round trip). ` +
      `CPU is read from /proc over the same seconds: the server's is every workerd process of its \`wrangler dev\` ` +
      `(proxy and worker), the Node process, or the two Node processes and \`redis-server\`; the driver's is its processes and the bench's own. ` +
      `"(n%)" is the busiest single thread, as a share of one core; the machine has ${machineCores}. ` +
      `Set-up is ${counts.setupRooms} calls one after another per system, the systems in turns (two peers connect and ` +
      `authenticate, create, ask, accept), ` +
      `through the same raw-frame client; a floor's set-up opens two sockets and passes as many frames in turn.`,
  );
  if (errors.length > 0) {
    lines.push(
      "",
      `Frames that were not relays (refusals) while flooding: ${errors
        .map((r) => {
          const f = r.floods.find((flood) => flood.errors > 0);
          return `${r.name}: ${r.floods.reduce((n, flood) => n + flood.errors, 0)} (first: \`${f?.firstError}\`)`;
        })
        .join("; ")}.`,
    );
  }
  lines.push("");
  return lines;
}

/** The systems compared, and what each is compared with: the floors, the Node servers, and a baseline of this server. */
const COMPARED = ["zero", "seed", "zero-base", "seed-base", "node", "redis"] as const;
const COMPARATORS = ["floor", "node", "redis", "machine"] as const;

/** Each system against each comparator it is not: the runtime floor, the Node socket.io servers, the machine floor. */
function renderRatios(relay: NonNullable<Results["relay"]>, windows: number[]): string[] {
  const comparators = COMPARATORS.filter((key) => relay[key]);
  if (comparators.length === 0) return [];
  const lines = [
    "",
    "Ratios within this run (latency and CPU: lower is better; msg/s: higher is better; set-up: ms more than the comparator's):",
    "",
    `| system | against | 1 pair p50 | 1 pair p99 | ${windows.map((w) => `msg/s, ${w} in flight`).join(" | ")} | ${windows.map((w) => `CPU per msg, ${w} in flight`).join(" | ")} | set-up p50 |`,
    `| --- | --- | --- | --- | ${windows.map(() => "---").join(" | ")} | ${windows.map(() => "---").join(" | ")} | --- |`,
  ];
  for (const key of COMPARED) {
    const r = relay[key];
    if (!r) continue;
    const own: string[] = [];
    // Seed-style sockets relay through one hop between objects, as the one-hop floor does.
    if (key.startsWith("seed") && relay.hop) own.push("hop");
    if (key.endsWith("-base") && relay[key.replace("-base", "")]) own.unshift(key.replace("-base", ""));
    for (const against of [...own, ...comparators]) {
      const c = relay[against];
      if (!c || against === key) continue;
      const msgs = r.floods.map((f, i) => (c.floods[i] ? throughputRatio(f, c.floods[i]) : "-"));
      const cpu = r.floods.map((f, i) =>
        c.floods[i] ? times(f.serverCpuMsPerMessage, c.floods[i].serverCpuMsPerMessage) : "-",
      );
      lines.push(
        `| ${r.name} | ${c.name.split(" (")[0]} | ${times(r.onePair.p50, c.onePair.p50)} | ${times(r.onePair.p99, c.onePair.p99)} | ` +
          `${msgs.join(" | ")} | ${cpu.join(" | ")} | ${plus(r.setup.p50, c.setup.p50)} |`,
      );
    }
  }
  const unbound = Object.values(relay).flatMap((r) =>
    r.floods
      .filter((f) => f.bound !== "server")
      .map((f) => `${r.name.split(" (")[0]}, ${f.window} in flight: ${boundLabel(f)}`),
  );
  if (unbound.length > 0) {
    lines.push(
      "",
      `† Not both server-bound (${unbound.join("; ")}): ` +
        "that msg/s ratio measures how the machine was shared, not the servers. CPU per message still compares them.",
    );
  }
  return lines;
}

function renderBusyRoom(busy: BusyRoom, relay: NonNullable<Results["relay"]>): string[] {
  const f = busy.flood;
  const floor = relay.floor?.floods.find((flood) => flood.window === f.window);
  const ratio =
    floor && comparable(f, floor)
      ? ` (${times(f.messagesPerSecond, floor.messagesPerSecond)} of the runtime floor's ${floor.pairs} pairs in ${floor.pairs} objects)`
      : floor
        ? " (no ratio to the runtime floor: not both server-bound)"
        : "";
  return [
    `One busy room (${busy.pairs} pairs, ${busy.pairs * 2} sockets in one room's object, ${f.window} in flight each): ` +
      `${f.messagesPerSecond.toFixed(0)} msg/s${ratio}, ` +
      `server CPU ${us(f.serverCpuMsPerMessage)} µs/msg, limited by ${boundLabel(f)}; ` +
      `one in flight per pair: one-way p50 ${ms(busy.latency.p50)} ms, p99 ${ms(busy.latency.p99)} ms.`,
    "",
  ];
}

function renderCallSetup(rows: SetupBatch[]): string[] {
  const lines = [
    "## Call set-up at scale (socket.io-client; connect, auth, create, join request, accept), 50 rooms of 2 at a time",
    "",
    "| placement | rooms | total s | rooms/s | per room p50 ms | p99 ms | errors |",
    "| --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const row of rows) {
    lines.push(
      `| ${row.placement === "room" ? "zero hops" : "seed-style"} | ${row.rooms} | ${row.seconds.toFixed(1)} | ${(row.rooms / row.seconds).toFixed(0)} | ${row.perRoom.p50.toFixed(0)} | ${row.perRoom.p99.toFixed(0)} | ${row.errors}${row.firstError ? ` (${row.firstError})` : ""} |`,
    );
  }
  lines.push("");
  return lines;
}

function renderIdle(idle: IdleCost): string[] {
  return [
    "## Idle cost (default heartbeats: ping every 60 s)",
    "",
    `${idle.sockets} idle sockets in ${idle.objects} objects for ${idle.seconds} s, counted by the server (LOG_WAKES): ` +
      `${idle.wakes.alarm} alarms, ${idle.wakes.message} messages, ${idle.wakes.rpc} RPC calls; ` +
      `**${idle.wakesPerSocketPerMinute.toFixed(2)} wakes per socket per minute** overall, ` +
      `${idle.wakesPerSocketPerMinuteAlone.toFixed(2)} for a socket alone in its object. ` +
      `At $0.15 per million requests that is about **$${idle.dollarsPerMillionConnectionMinutes.toFixed(3)} per million connection-minutes** (requests; duration of millisecond wakes aside). ` +
      `A socket that stopped answering pings was closed after ${idle.deafNoticedAfterSeconds === null ? "more than the window" : `${idle.deafNoticedAfterSeconds.toFixed(0)} s`}.`,
    "",
  ];
}

function renderMemory(memory: MemoryCost): string[] {
  const row = (label: string, r: MemoryCost["alone"]) =>
    `| ${label} | +${r.openMiB.toFixed(0)} MiB | +${r.hibernatedMiB.toFixed(0)} MiB |`;
  return [
    "## Memory of the local runtime (workerd RSS)",
    "",
    `At rest: ${memory.alone.baselineMiB.toFixed(0)} MiB. Per 1,000 idle sockets (${memory.alone.sockets} measured each way):`,
    "",
    "| sockets live | just connected | after their objects were evicted |",
    "| --- | --- | --- |",
    row("alone, one object each", memory.alone),
    row("50 to a room's object", memory.fiftyPerRoom),
    row("runtime floor: raw sockets, 2 to a forwarding object", memory.runtimeFloor),
    "",
  ];
}

const READING_NOTES = `## Reading these numbers

- Every system is driven by the same driver: raw-frame \`ws\` clients in a process of their own,
  sending the frames socket.io-client would send (pre-encoded) and reading only enough of each frame
  to tell a relay from anything else. The driver's cost is shown (driver cores) and does not land on
  the servers' figures. Permessage-deflate is not offered unless \`--deflate\`; browsers offer it
  and workerd accepts it, which costs CPU per message and memory per socket (the memory section's
  clients offer it).
- Server CPU per message counts only the server's processes, so other load on the machine disturbs
  it least. Throughput is a property of the server only when its row says "server" (one of its
  threads was saturated); on 2 cores, the driver and the two workerd processes of \`wrangler dev\`
  share them, and a "shared CPU" row measures how the scheduler split them.
- The runtime floor and this server run under \`wrangler dev\`, behind its local proxy (the second
  workerd process, in results.json as the smaller of \`server.processes\`); deployed, there is no
  such proxy. The machine floor and the Node socket.io server run without it.
- The Node socket.io server runs this project's signaling rules (src/signaling/) in a stock
  socket.io 4 server (bench/node-server/), storage in memory, events to other peers with
  \`io.to(id).emit\`: what a user would run instead of Durable Objects, on one machine. The
  two-process row is how the original server scales: rooms in a \`redis-server\` (each rule runs on
  its room's hashes, read in one round trip; a relay only reads), events to the other process through
  \`@socket.io/redis-adapter\`'s pub/sub, each pair's peers on different processes; its CPU is both
  Node processes and \`redis-server\`.
- A seed-style relay crosses from the sender's object to the receiver's over a WebSocket between
  them (a relay channel), one message per turn of relays, answered for in bulk. With one relay in
  flight per pair each relay is a message of its own; with several, the relays a socket sends
  together travel together (one message per turn per receiving object).
- Set-up one after another starts a new room each time, so on the runtime floor and this server it
  includes creating a Durable Object.
- Single runs on a shared machine are noisy, above all at p99; compare ratios within one run.
- Idle cost: one alarm per object per ping interval, whatever its number of sockets; pongs are
  answered by the runtime without waking the object. Prices: $0.15 per million Durable Object
  requests (alarm invocations, RPC calls, incoming WebSocket messages at 20:1). A socket that stops
  answering is closed at the second alarm after its last pong, at most two intervals (120 s).
  The idle window runs alongside the other sections: wakes are counted by its own server.
- Memory is that of the local runtime (every workerd process \`wrangler dev\` starts, its proxy
  included). It says nothing about memory on Cloudflare's network.
`;
