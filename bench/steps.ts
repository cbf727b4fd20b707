/**
 * Where a call set-up's time goes: `npm run bench:steps [-- --rounds N]`.
 *
 * Times each step of call set-ups done one after another on this server, in
 * both placements (zero hops: the room in the query; seed-style: each socket
 * in its own object), and the same steps of the runtime floor (a socket
 * opened in a new object, one in an existing object, the first frame on a new
 * socket, later frames). Then what single requests cost an object: a frame
 * answered at once, after one SQLite insert, after a new table, after one
 * log line. Prints medians (ms); the first 5 rounds of each are warm-up.
 * bench/RESULTS.md says how these explain the set-up rows of `npm run bench`.
 */
import { join } from "node:path";
import type WebSocket from "ws";
import { fetchAppToken } from "../test/support/app-token";
import { connectRaw, openWebSocket } from "./lib/raw-socket";
import { percentile } from "./lib/stats";
import { BENCH_VARS, startWrangler } from "./lib/systems";

const args = process.argv.slice(2);
const rounds = Number(args[args.indexOf("--rounds") + 1]) || 40;
const WARMUP = 5;

const server = await startWrangler({ vars: BENCH_VARS });
const floor = await startWrangler({ config: join(import.meta.dirname, "floor/wrangler.toml") });
const samples = new Map<string, number[]>();
const closers: Array<() => void> = [];

/** Runs `step`, records its time under `name` (after the warm-up rounds). */
async function timed<T>(round: number, name: string, step: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await step();
  if (round >= WARMUP) samples.set(name, [...(samples.get(name) ?? []), performance.now() - started]);
  return result;
}

function nextFrame(ws: WebSocket): Promise<string> {
  return new Promise((resolve) => ws.once("message", (data) => resolve(String(data))));
}

try {
  const appToken = await fetchAppToken(server.url, "bench");
  for (const placement of ["room", "own"] as const) {
    const label = placement === "room" ? "zero hops" : "seed-style";
    for (let round = 0; round < WARMUP + rounds; round++) {
      const room = `steps-${placement}-${Date.now().toString(36)}-${round}`;
      const peer = async (name: string) => {
        const socket = await timed(round, `${label}: connect ${name} (open, Engine.IO open, CONNECT)`, () =>
          connectRaw(server.url, {
            auth: { token: appToken },
            ...(placement === "room" ? { query: { app: "bench", room, token: appToken } } : {}),
          }),
        );
        const auth = await timed(round, `${label}: auth-request ${name}`, async () => {
          const outcome = await socket.emitWithAck<{ data: { token: string } }>("auth-request", {
            token: appToken,
            peerinfo: { name },
          });
          await socket.next("auth-accept");
          return outcome.data.token;
        });
        return { socket, auth };
      };
      const a = await peer("a");
      const b = await peer("b");
      await timed(round, `${label}: room-create-request`, () =>
        a.socket.emitWithAck("room-create-request", { auth: a.auth, room }),
      );
      await timed(round, `${label}: room-join-request, to the owner`, async () => {
        b.socket.emit("room-join-request", { auth: b.auth, room });
        await a.socket.next("room-join-request");
      });
      await timed(round, `${label}: room-join-accept, to the candidate`, async () => {
        a.socket.emit("room-join-accept", { auth: a.auth, room, peer_id: b.socket.id });
        await b.socket.next("room-join-accept");
      });
      // Closed after the rounds, as `npm run bench` does: a room's leaves and
      // deletion would otherwise overlap the next round's first connect.
      closers.push(
        () => a.socket.close(),
        () => b.socket.close(),
      );
    }
    for (const close of closers.splice(0)) close();
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }

  const ws = floor.url.replace(/^http/, "ws");
  for (let round = 0; round < WARMUP + rounds; round++) {
    const id = `steps-${Date.now().toString(36)}-${round}`;
    const first = await timed(round, "runtime floor: open a socket in a new object", () =>
      openWebSocket(`${ws}/pair?id=${id}&side=a`),
    );
    const second = await timed(round, "runtime floor: open a socket in that object", () =>
      openWebSocket(`${ws}/pair?id=${id}&side=b`),
    );
    for (let crossing = 0; crossing < 4; crossing++) {
      const [from, to] = crossing % 2 === 0 ? [first, second] : [second, first];
      const name = crossing === 0 ? "first frame on new sockets" : "a later frame";
      await timed(round, `runtime floor: ${name}`, async () => {
        const arrived = nextFrame(to);
        from.send("x".repeat(64));
        await arrived;
      });
    }
    closers.push(
      () => first.close(),
      () => second.close(),
    );
  }
  for (const close of closers.splice(0)) close();

  const costs = await openWebSocket(`${ws}/costs`);
  for (let round = 0; round < 3 * 100; round++) {
    for (const cost of ["none", "insert", "new-table", "log"]) {
      await timed(round % 100 === 0 ? 0 : WARMUP, `one request that does ${cost} (round trip)`, async () => {
        const answered = nextFrame(costs);
        costs.send(cost);
        await answered;
      });
    }
  }
  costs.close();

  console.log(`Set-up steps, one after another, ${rounds} rounds; medians in ms:`);
  for (const [name, times] of samples) {
    const sorted = [...times].sort((x, y) => x - y);
    console.log(`${percentile(sorted, 50).toFixed(2).padStart(7)}  ${name}`);
  }
} finally {
  await server.stop();
  await floor.stop();
}
process.exit(0);
