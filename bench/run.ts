/**
 * `npm run bench`: the server's numbers against two floors, in one run.
 *
 * Everything runs here, on loopback: the server under `wrangler dev` (the
 * way `npm start` runs it, state in a throw-away folder), the runtime floor
 * (bench/floor: a Durable Object that only forwards frames) under `wrangler
 * dev` too, and the machine floor (a `ws` relay in this Node process). All
 * are driven from this process: the server by real socket.io-clients, the
 * floors by raw WebSockets sending frames of the same size.
 *
 * Prints a table, writes bench/results.json and bench/RESULTS.md.
 * Options: --quick (small counts, short idle phase), --idle-seconds N.
 */
import { writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { io } from "socket.io-client";
import { fetchAppToken } from "../test/support/app-token";
import { setUpRoom } from "../test/support/call";
import { connectPeer, type TestPeer } from "../test/support/peer";
import { startDevServer } from "../test/support/wrangler-dev";
import { startMachineFloor } from "./lib/machine-floor";
import {
  benchPeer,
  bounce,
  latencies,
  type Pinger,
  type Placement,
  rawPair,
  signalingPair,
  throughput,
} from "./lib/pairs";
import { runtimeRss } from "./lib/runtime-memory";
import { pool, type Summary, summarize } from "./lib/stats";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const idleSeconds = Number(args[args.indexOf("--idle-seconds") + 1]) || (quick ? 30 : 150);
const ROUNDS_ONE_PAIR = quick ? 200 : 1000;
const ROUNDS_MANY_PAIRS = quick ? 20 : 100;
const PAIRS = 50;
const THROUGHPUT_SECONDS = quick ? 2 : 5;
const SETUP_ROOMS = quick ? [1, 50] : [1, 100, 1000];
const IDLE_SOCKETS = quick ? 20 : 100;
const MEMORY_SOCKETS = quick ? 200 : 1000;

const root = join(import.meta.dirname, "..");
const results: Record<string, unknown> = {};
const log = (line: string) => console.log(line);

// The benchmark measures the relay path, not the flood limiter: allow any rate.
const BENCH_VARS = { RATE_LIMIT_PER_SECOND: "100000000", RATE_LIMIT_BURST: "100000000" };

async function main() {
  log(
    `edge-signaling benchmark${quick ? " (quick)" : ""}: ${cpus().length} × ${cpus()[0]?.model}, node ${process.version}`,
  );
  const [server, floorServer, machine] = await Promise.all([
    startDevServer({ vars: BENCH_VARS }),
    startDevServer({ config: join(root, "bench/floor/wrangler.toml") }),
    startMachineFloor(),
  ]);
  try {
    const appToken = await fetchAppToken(server.url, "bench");
    const probe = await signalingPair(server.url, appToken, "probe", "room");
    const frame = "x".repeat(probe.frameBytes - 2); // same size as the server's incoming relay frame
    probe.close();
    results.frameBytes = probe.frameBytes;

    const floors = {
      machine: (n: number) => rawPairs(n, (id, side) => `${machine.url}/pair?id=${id}&side=${side}`, frame),
      runtime: (n: number) =>
        rawPairs(n, (id, side) => `${floorServer.url.replace("http", "ws")}/pair?id=${id}&side=${side}`, frame),
    };
    const server_ = (placement: Placement) => (n: number) =>
      Promise.all(
        Array.from({ length: n }, (_, i) =>
          signalingPair(server.url, appToken, `${placement}-${n}-${i}-${Date.now()}`, placement),
        ),
      );

    const systems: Array<[string, (n: number) => Promise<Pinger[]>]> = [
      ["machine floor (ws relay in Node)", floors.machine],
      ["runtime floor (forwarding Durable Object)", floors.runtime],
      ["server, zero hops (sockets in the room's object)", server_("room")],
      ["server, cross-object (each socket in its own object)", server_("own")],
    ];
    const relay: Record<string, { onePair: Summary; manyPairs: Summary; throughput: number }> = {};
    for (const [name, make] of systems) {
      log(`relay: ${name}`);
      const one = await make(1);
      const onePair = summarize(await latencies(one, ROUNDS_ONE_PAIR, 100));
      for (const p of one) p.close();
      const many = await make(PAIRS);
      const manyPairs = summarize(await latencies(many, ROUNDS_MANY_PAIRS, 10));
      const rate = await throughput(many, THROUGHPUT_SECONDS);
      for (const p of many) p.close();
      relay[name] = { onePair, manyPairs, throughput: rate };
    }
    results.relay = relay;

    log("relay: one busy room (10 pairs in one room's object)");
    results.busyRoom = await busyRoom(server.url, appToken, 10);

    log("call set-up");
    results.callSetup = await callSetups(server.url, appToken);
  } finally {
    await Promise.all([server.stop(), floorServer.stop(), machine.close()]);
  }

  log(`idle cost: ${idleSeconds} s with default heartbeats`);
  results.idle = await idleCost();
  log("memory of the local runtime per idle socket");
  results.memory = await memoryPerSocket();

  const report = render();
  console.log(`\n${report}`);
  writeFileSync(join(root, "bench/results.json"), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(root, "bench/RESULTS.md"), report);
}

async function rawPairs(n: number, url: (id: string, side: "a" | "b") => string, frame: string): Promise<Pinger[]> {
  return Promise.all(
    Array.from({ length: n }, (_, i) => {
      const id = `pair-${n}-${i}-${Date.now()}`;
      return rawPair(url(id, "a"), url(id, "b"), frame);
    }),
  );
}

/** `pairs` pairs bouncing relays in one room whose sockets all live in its object. */
async function busyRoom(url: string, appToken: string, pairs: number) {
  const room = `busy-${Date.now()}`;
  const peers: TestPeer[] = [];
  for (let i = 0; i < pairs * 2; i++) {
    peers.push(await connectPeer({ url, appToken, peerinfo: { i }, query: { app: "bench", room } }));
  }
  await setUpRoom(room, peers[0] as TestPeer, ...peers.slice(1));
  const pingers: Pinger[] = [];
  for (let i = 0; i < pairs; i++) pingers.push(bounce(room, peers[2 * i] as TestPeer, peers[2 * i + 1] as TestPeer));
  const rate = await throughput(pingers, THROUGHPUT_SECONDS);
  const latency = summarize(await latencies(pingers, ROUNDS_MANY_PAIRS, 5));
  for (const peer of peers) peer.close();
  return { pairs, throughput: rate, latency };
}

/** Connect, auth, create, join request, accept: per room, for R rooms of 2 at once (50 in flight). */
async function callSetups(url: string, appToken: string) {
  const out: Array<{
    placement: Placement;
    rooms: number;
    seconds: number;
    perRoom: Summary;
    errors: number;
    firstError?: string;
  }> = [];
  for (const placement of ["room", "own"] as Placement[]) {
    for (const rooms of SETUP_ROOMS) {
      const peers: TestPeer[] = [];
      const started = performance.now();
      const tasks = Array.from({ length: rooms }, (_, i) => async () => {
        const room = `setup-${placement}-${rooms}-${i}-${Date.now()}`;
        const t0 = performance.now();
        const a = await benchPeer(url, appToken, "a", room, placement);
        const b = await benchPeer(url, appToken, "b", room, placement);
        peers.push(a, b);
        await setUpRoom(room, a, b);
        return performance.now() - t0;
      });
      const settled = await pool(50, tasks);
      const seconds = (performance.now() - started) / 1000;
      const times = settled.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
      const failures = settled.filter((r): r is PromiseRejectedResult => r.status === "rejected");
      for (const peer of peers) peer.close();
      const row: (typeof out)[number] = {
        placement,
        rooms,
        seconds,
        perRoom: summarize(times),
        errors: failures.length,
      };
      if (failures[0]) row.firstError = String(failures[0].reason);
      out.push(row);
      log(`  ${placement} × ${rooms}: ${seconds.toFixed(1)} s, ${failures.length} errors`);
      await new Promise((r) => setTimeout(r, 1000)); // let the closes settle
    }
  }
  return out;
}

/**
 * Idle sockets under default heartbeat settings, with wake logging on:
 * half alone in their own objects, half in rooms of two (both in the room's
 * object). Counts object wakes per kind. One extra socket stops answering
 * pings, to time how long the server takes to notice.
 */
async function idleCost() {
  const server = await startDevServer({ vars: { LOG_WAKES: "true" } });
  try {
    const appToken = await fetchAppToken(server.url, "bench");
    const alone: TestPeer[] = [];
    for (let i = 0; i < IDLE_SOCKETS / 2; i++) alone.push(await connectPeer({ url: server.url, appToken }));
    const paired: TestPeer[] = [];
    for (let i = 0; i < IDLE_SOCKETS / 4; i++) {
      const room = `idle-${i}`;
      const [a, b] = [
        await connectPeer({ url: server.url, appToken, query: { app: "bench", room } }),
        await connectPeer({ url: server.url, appToken, query: { app: "bench", room } }),
      ];
      await setUpRoom(room, a, b);
      paired.push(a, b);
    }
    // The deaf socket: connected, then its pongs are swallowed.
    const deaf = io(server.url, { transports: ["websocket"], reconnection: false, forceNew: true });
    await new Promise<void>((resolve) => deaf.once("connect", () => resolve()));
    const engine = deaf.io.engine as unknown as { _sendPacket: (type: string, ...rest: unknown[]) => void };
    const send = engine._sendPacket.bind(engine);
    engine._sendPacket = (type, ...rest) => {
      if (type !== "pong") send(type, ...rest);
    };
    const deafSince = performance.now();
    let deafNoticedAfter: number | null = null;
    deaf.on("disconnect", (reason) => {
      // Only the server's close counts, not ours at the end of the window.
      if (reason !== "io client disconnect") deafNoticedAfter = (performance.now() - deafSince) / 1000;
    });

    const from = server.output().length;
    await new Promise((r) => setTimeout(r, idleSeconds * 1000));
    const window = server.output().slice(from);
    const count = (kind: string) =>
      window.split("\n").filter((line) => line.includes(`"log":"wake"`) && line.includes(`"kind":"${kind}"`)).length;
    const wakes = { alarm: count("alarm"), message: count("message"), rpc: count("rpc") };
    const minutes = idleSeconds / 60;
    const sockets = alone.length + paired.length;
    const total = wakes.alarm + wakes.message + wakes.rpc;
    for (const peer of [...alone, ...paired]) peer.close();
    deaf.close();
    return {
      seconds: idleSeconds,
      sockets,
      objects: alone.length + paired.length / 2,
      wakes,
      wakesPerSocketPerMinute: total / sockets / minutes,
      // The deaf socket is alone in its object too, until it is closed.
      wakesPerSocketPerMinuteAlone: estimateAlone(window, alone.length + 1, minutes),
      deafNoticedAfterSeconds: deafNoticedAfter,
      // Cloudflare's published prices: $0.15 per million requests (alarm invocations,
      // RPC calls, and incoming WebSocket messages at 20:1); the runtime answers pongs
      // by itself, so they wake nothing. Duration is not counted here: a woken idle object
      // runs for milliseconds (see RESULTS.md).
      dollarsPerMillionConnectionMinutes: (total / sockets / minutes) * 0.15,
    };
  } finally {
    await server.stop();
  }
}

/** Wakes per minute of the objects that hold one socket each (their names are hex ids, not room names). */
function estimateAlone(window: string, sockets: number, minutes: number): number {
  const lines = window.split("\n").filter((line) => line.includes(`"log":"wake"`) && !line.includes(`"object":"room:`));
  return lines.length / sockets / minutes;
}

/**
 * Runtime memory per 1,000 idle sockets, both ways they can live: each alone
 * in its own object, and 50 to a room's object. Measured just after they
 * connect and once their objects were evicted (the sockets hibernate).
 */
async function memoryPerSocket() {
  const measure = async (placement: Placement) => {
    const server = await startDevServer({});
    try {
      const appToken = await fetchAppToken(server.url, "bench");
      await new Promise((r) => setTimeout(r, 2000));
      const before = runtimeRss(server.pid);
      const tasks = Array.from(
        { length: MEMORY_SOCKETS },
        (_, i) => () =>
          connectPeer({
            url: server.url,
            appToken,
            ...(placement === "room" ? { query: { app: "bench", room: `memory-${Math.floor(i / 50)}` } } : {}),
          }),
      );
      const peers = (await pool(50, tasks)).flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
      for (const peer of peers) peer.socket.offAny();
      const open = runtimeRss(server.pid);
      // Past the ~15 s after which idle objects are evicted while their sockets hibernate.
      await new Promise((r) => setTimeout(r, 25_000));
      const hibernated = runtimeRss(server.pid);
      for (const peer of peers) peer.close();
      const per1000 = (bytes: number) => (((bytes - before) / peers.length) * 1000) / 2 ** 20;
      return {
        sockets: peers.length,
        baselineMiB: before / 2 ** 20,
        openMiB: per1000(open),
        hibernatedMiB: per1000(hibernated),
      };
    } finally {
      await server.stop();
    }
  };
  /** The runtime floor's own cost per socket: raw WebSockets, two to a forwarding object. */
  const floor = async () => {
    const server = await startDevServer({ config: join(root, "bench/floor/wrangler.toml") });
    try {
      await new Promise((r) => setTimeout(r, 2000));
      const before = runtimeRss(server.pid);
      const url = server.url.replace("http", "ws");
      const pairs = await Promise.all(
        Array.from({ length: MEMORY_SOCKETS / 2 }, (_, i) =>
          rawPair(`${url}/pair?id=m${i}&side=a`, `${url}/pair?id=m${i}&side=b`, "x"),
        ),
      );
      const open = runtimeRss(server.pid);
      await new Promise((r) => setTimeout(r, 25_000));
      const hibernated = runtimeRss(server.pid);
      for (const pair of pairs) pair.close();
      const per1000 = (bytes: number) => (((bytes - before) / MEMORY_SOCKETS) * 1000) / 2 ** 20;
      return {
        sockets: MEMORY_SOCKETS,
        baselineMiB: before / 2 ** 20,
        openMiB: per1000(open),
        hibernatedMiB: per1000(hibernated),
      };
    } finally {
      await server.stop();
    }
  };
  return { alone: await measure("own"), fiftyPerRoom: await measure("room"), runtimeFloor: await floor() };
}

const READING_NOTES = `## Reading these numbers

- The server is driven by real socket.io-clients, which encode and decode every message in the
  benchmark's own Node process, on the same two cores; the floors get raw WebSockets. That client
  work lands on the server's figures, not the floors'.
- The server and the runtime floor both run under \`wrangler dev\`, behind its local proxy; the machine
  floor does not, which is most of the gap between the two floors.
- Throughput is ping-pong with one message in flight per pair: round trips per second, not a
  saturated pipe. Single runs on a shared 2-core machine are noisy, above all at p99 and for the
  machine floor; compare ratios within one run.
- A room set-up timed just after a 1,000-room batch closed can wait for that batch's 2,000 closes.
- Idle cost: one alarm per object per ping interval, whatever its number of sockets; pongs are
  answered by the runtime without waking the object. Prices: $0.15 per million Durable Object
  requests (alarm invocations, RPC calls, incoming WebSocket messages at 20:1). A socket that stops
  answering is closed at the second alarm after its last pong, at most two intervals (120 s).
- Memory is that of the local runtime (every workerd process \`wrangler dev\` starts, its proxy
  included): about 1 MiB per open WebSocket with or without this server's code, as the runtime
  floor's row shows. It says nothing about memory on Cloudflare's network.
- Made faster after the first measurements (a --quick run had the zero-hop relay at 2.1× the runtime
  floor for one pair and 0.54× its throughput): a session token is verified once per connection
  and token (remembered until its \`exp\`) instead of an HMAC check per message; room object ids
  are cached instead of hashed per relay; a relay no longer reads the receiver's attachment; EVENT
  frames are written with one \`JSON.stringify\` instead of the parser's walk for binary data and
  then a stringify; the socket id comes from the WebSocket's tag instead of a second attachment read.
`;

function render(): string {
  const relay = results.relay as Record<string, { onePair: Summary; manyPairs: Summary; throughput: number }>;
  const names = Object.keys(relay);
  const machine = relay[names[0] as string] as (typeof relay)[string];
  const runtime = relay[names[1] as string] as (typeof relay)[string];
  const ms = (x: number) => x.toFixed(3);
  const ratio = (x: number, floor: number) => `${(x / floor).toFixed(2)}×`;
  const lines: string[] = [];
  lines.push("# Benchmark results", "");
  lines.push(
    `Machine: ${cpus().length} × ${cpus()[0]?.model}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ` +
      `wrangler dev (workerd) on loopback. Run on ${new Date().toISOString().slice(0, 10)}${quick ? " (--quick)" : ""}. ` +
      `Relay frames: ${results.frameBytes} bytes. Server started with the rate limiter opened up (it would stop a ping-pong flood).`,
    "",
  );
  lines.push("## Relay latency (one-way = half a round trip, ms) and throughput", "");
  lines.push(
    "Ratios: to the machine floor / to the runtime floor. Lower is better for latency, higher for throughput.",
    "",
  );
  lines.push(
    "| system | 1 pair p50 | p95 | p99 | 50 pairs p50 | p95 | p99 | 50 pairs msg/s |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
  );
  for (const name of names) {
    const r = relay[name] as (typeof relay)[string];
    lines.push(
      `| ${name} | ${ms(r.onePair.p50)} | ${ms(r.onePair.p95)} | ${ms(r.onePair.p99)} | ${ms(r.manyPairs.p50)} | ${ms(r.manyPairs.p95)} | ${ms(r.manyPairs.p99)} | ${r.throughput.toFixed(0)} |`,
    );
  }
  lines.push(
    "",
    "| system | 1 pair p50 vs floors | 1 pair p99 vs floors | 50 pairs p50 vs floors | 50 pairs p99 vs floors | msg/s vs floors |",
    "| --- | --- | --- | --- | --- | --- |",
  );
  for (const name of names.slice(2)) {
    const r = relay[name] as (typeof relay)[string];
    lines.push(
      `| ${name} | ${ratio(r.onePair.p50, machine.onePair.p50)} / ${ratio(r.onePair.p50, runtime.onePair.p50)} | ` +
        `${ratio(r.onePair.p99, machine.onePair.p99)} / ${ratio(r.onePair.p99, runtime.onePair.p99)} | ` +
        `${ratio(r.manyPairs.p50, machine.manyPairs.p50)} / ${ratio(r.manyPairs.p50, runtime.manyPairs.p50)} | ` +
        `${ratio(r.manyPairs.p99, machine.manyPairs.p99)} / ${ratio(r.manyPairs.p99, runtime.manyPairs.p99)} | ` +
        `${ratio(r.throughput, machine.throughput)} / ${ratio(r.throughput, runtime.throughput)} |`,
    );
  }
  lines.push(
    "",
    `Runs: 1 pair ${ROUNDS_ONE_PAIR} round trips after 100 warm-up; 50 pairs ${ROUNDS_MANY_PAIRS} each after 10; throughput ${THROUGHPUT_SECONDS} s, one message in flight per pair. Spread (sd, ms): ` +
      names
        .map(
          (name) =>
            `${name.split(" (")[0]} ${ms((relay[name] as (typeof relay)[string]).onePair.sd)} / ${ms((relay[name] as (typeof relay)[string]).manyPairs.sd)}`,
        )
        .join("; ") +
      ".",
    "",
  );
  const busy = results.busyRoom as { pairs: number; throughput: number; latency: Summary };
  lines.push(
    `One busy room (${busy.pairs} pairs, 20 sockets in one room's object): ${busy.throughput.toFixed(0)} msg/s ` +
      `(${ratio(busy.throughput, runtime.throughput)} of the runtime floor's 50 pairs in 50 objects), one-way p50 ${ms(busy.latency.p50)} ms, p99 ${ms(busy.latency.p99)} ms.`,
    "",
  );
  lines.push("## Call set-up (connect, auth, create, join request, accept), rooms of 2 set up 50 at a time", "");
  lines.push(
    "| placement | rooms | total s | rooms/s | per room p50 ms | p99 ms | errors |",
    "| --- | --- | --- | --- | --- | --- | --- |",
  );
  for (const row of results.callSetup as Array<{
    placement: string;
    rooms: number;
    seconds: number;
    perRoom: Summary;
    errors: number;
    firstError?: string;
  }>) {
    lines.push(
      `| ${row.placement === "room" ? "zero hops" : "cross-object"} | ${row.rooms} | ${row.seconds.toFixed(1)} | ${(row.rooms / row.seconds).toFixed(0)} | ${row.perRoom.p50.toFixed(0)} | ${row.perRoom.p99.toFixed(0)} | ${row.errors}${row.firstError ? ` (${row.firstError})` : ""} |`,
    );
  }
  const idle = results.idle as {
    seconds: number;
    sockets: number;
    objects: number;
    wakes: Record<string, number>;
    wakesPerSocketPerMinute: number;
    wakesPerSocketPerMinuteAlone: number;
    deafNoticedAfterSeconds: number | null;
    dollarsPerMillionConnectionMinutes: number;
  };
  lines.push("", "## Idle cost (default heartbeats: ping every 60 s)", "");
  lines.push(
    `${idle.sockets} idle sockets in ${idle.objects} objects for ${idle.seconds} s, counted by the server (LOG_WAKES): ` +
      `${idle.wakes.alarm} alarms, ${idle.wakes.message} messages, ${idle.wakes.rpc} RPC calls; ` +
      `**${idle.wakesPerSocketPerMinute.toFixed(2)} wakes per socket per minute** overall, ` +
      `${idle.wakesPerSocketPerMinuteAlone.toFixed(2)} for a socket alone in its object. ` +
      `At $0.15 per million requests that is about **$${idle.dollarsPerMillionConnectionMinutes.toFixed(3)} per million connection-minutes** (requests; duration of millisecond wakes aside). ` +
      `A socket that stopped answering pings was closed after ${idle.deafNoticedAfterSeconds === null ? "more than the window" : `${idle.deafNoticedAfterSeconds.toFixed(0)} s`}.`,
  );
  const memory = results.memory as Record<
    "alone" | "fiftyPerRoom" | "runtimeFloor",
    { sockets: number; baselineMiB: number; openMiB: number; hibernatedMiB: number }
  >;
  lines.push(
    "",
    "## Memory of the local runtime (workerd RSS)",
    "",
    `At rest: ${memory.alone.baselineMiB.toFixed(0)} MiB. Per 1,000 idle sockets (${memory.alone.sockets} measured each way):`,
    "",
    "| sockets live | just connected | after their objects were evicted |",
    "| --- | --- | --- |",
    `| alone, one object each | +${memory.alone.openMiB.toFixed(0)} MiB | +${memory.alone.hibernatedMiB.toFixed(0)} MiB |`,
    `| 50 to a room's object | +${memory.fiftyPerRoom.openMiB.toFixed(0)} MiB | +${memory.fiftyPerRoom.hibernatedMiB.toFixed(0)} MiB |`,
    `| runtime floor: raw sockets, 2 to a forwarding object | +${memory.runtimeFloor.openMiB.toFixed(0)} MiB | +${memory.runtimeFloor.hibernatedMiB.toFixed(0)} MiB |`,
    "",
  );
  lines.push(READING_NOTES);
  return `${lines.join("\n")}\n`;
}

await main();
