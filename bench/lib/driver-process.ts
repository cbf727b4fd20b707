/**
 * One driver process of `npm run bench` (started by driver-pool.ts): it sets
 * up its share of the pairs, then bounces relays between the two sides of
 * each, with pre-encoded frames and no decoding on the hot path. Commands
 * arrive over IPC; see {@link DriverCommand}. Pairs are held in named groups
 * (one per system), so that several systems stay set up while each is driven
 * in turn.
 */
import type WebSocket from "ws";
import { type BenchSocket, benchSocket, floorPair, relayFrame, setUpCall, type Target } from "./targets";

/** A room to set up and the pairs in it (a pair: two members bouncing relays). */
export interface RoomPlan {
  name: string;
  pairs: number;
}

export type DriverCommand = { group: string } & (
  | { type: "setup"; target: Target; rooms: RoomPlan[] }
  | { type: "latency"; rounds: number; warmup: number }
  | { type: "flood-start"; window: number }
  | { type: "count" }
  | { type: "flood-stop" }
  | { type: "close" }
);

export type DriverReply =
  | { type: "ready"; frameBytes: number }
  | { type: "latency"; samples: number[] }
  | { type: "count"; messages: number; errors: number; firstError?: string }
  | { type: "done" }
  | { type: "error"; message: string };

/** Two ends of a relay: what each sends, and how to tell a relayed frame from anything else. */
interface Pair {
  a: WebSocket;
  b: WebSocket;
  frameA: Buffer;
  frameB: Buffer;
  /** Routes every frame but pings to these handlers. */
  onFrames(atA: (frame: Buffer) => void, atB: (frame: Buffer) => void): void;
  close(): void;
}

const RELAYED = Buffer.from('42["ice-candidate"');

/** The pairs set up for one system, and what they have counted. */
interface Group {
  pairs: Pair[];
  isRelay: (frame: Buffer) => boolean;
  messages: number;
  errors: number;
  firstError: string | undefined;
  flooding: boolean;
  inFlight: number;
  drained: (() => void) | null;
}

const groups = new Map<string, Group>();

function groupOf(name: string): Group {
  const group = groups.get(name);
  if (!group) throw new Error(`no pairs set up in group "${name}"`);
  return group;
}

process.on("message", (command: DriverCommand & { id: number }) => {
  run(command).then(
    (reply) => process.send?.({ ...reply, id: command.id }),
    (error: unknown) =>
      process.send?.({
        type: "error",
        message: error instanceof Error ? error.message : String(error),
        id: command.id,
      }),
  );
});

async function run(command: DriverCommand): Promise<DriverReply> {
  if (command.type === "setup") return setUp(command.group, command.target, command.rooms);
  if (command.type === "close") {
    for (const pair of groups.get(command.group)?.pairs ?? []) pair.close();
    groups.delete(command.group);
    return { type: "done" };
  }
  const group = groupOf(command.group);
  switch (command.type) {
    case "latency":
      return {
        type: "latency",
        samples: (await Promise.all(group.pairs.map((p) => pingPong(group, p, command)))).flat(),
      };
    case "flood-start":
      flood(group, command.window);
      return { type: "done" };
    case "count":
      return group.firstError === undefined
        ? { type: "count", messages: group.messages, errors: group.errors }
        : { type: "count", messages: group.messages, errors: group.errors, firstError: group.firstError };
    case "flood-stop":
      await stopFlood(group);
      return { type: "done" };
  }
}

async function setUp(name: string, target: Target, rooms: RoomPlan[]): Promise<DriverReply> {
  const made = await Promise.all(rooms.map((room) => setUpRoom(target, room)));
  const pairs = made.flat();
  groups.set(name, {
    pairs,
    isRelay: target.kind === "floor" ? () => true : (frame) => startsWith(frame, RELAYED),
    messages: 0,
    errors: 0,
    firstError: undefined,
    flooding: false,
    inFlight: 0,
    drained: null,
  });
  return { type: "ready", frameBytes: pairs[0]?.frameA.length ?? 0 };
}

async function setUpRoom(target: Target, room: RoomPlan): Promise<Pair[]> {
  if (target.kind === "floor") {
    const frame = Buffer.from("x".repeat(target.frameBytes));
    return Promise.all(
      Array.from({ length: room.pairs }, async (_, i) => {
        const [a, b] = await floorPair(target.url, `${room.name}-${i}`, target.deflate, target.path, target.mode);
        return {
          a,
          b,
          frameA: frame,
          frameB: frame,
          onFrames: (atA, atB) => {
            a.removeAllListeners("message").on("message", atA);
            b.removeAllListeners("message").on("message", atB);
          },
          close: () => {
            for (const ws of [a, b]) ws.removeAllListeners("message").close();
          },
        };
      }),
    );
  }
  // Sockets one after another: the owner first, then each peer asks and is let in.
  const sockets: BenchSocket[] = [];
  // The second of each pair on the server's other process, if it has one: a relay crosses between them.
  for (let i = 0; i < room.pairs * 2; i++) sockets.push(await benchSocket(target, room.name, `p${i}`, i % 2 === 1));
  await setUpCall(room.name, ...(sockets as [BenchSocket, ...BenchSocket[]]));
  return Array.from({ length: room.pairs }, (_, i) => {
    const a = sockets[2 * i] as BenchSocket;
    const b = sockets[2 * i + 1] as BenchSocket;
    return {
      a: a.ws,
      b: b.ws,
      frameA: Buffer.from(relayFrame(a.session, room.name, b.id)),
      frameB: Buffer.from(relayFrame(b.session, room.name, a.id)),
      onFrames: (atA, atB) => {
        a.takeOver(atA);
        b.takeOver(atB);
      },
      close: () => {
        // Whatever still arrives (a room telling the other that one left) is no error.
        for (const socket of [a, b]) {
          socket.takeOver(() => {});
          socket.close();
        }
      },
    };
  });
}

const ROOM_NEWS = Buffer.from('42["room-');

function startsWith(frame: Buffer, prefix: Buffer): boolean {
  return frame.length >= prefix.length && frame.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;
}

/** A frame that is not a relay: news of the room's members (late from set-up) is fine; anything else is a refusal. */
function unexpected(group: Group, frame: Buffer) {
  if (startsWith(frame, ROOM_NEWS)) return;
  group.errors++;
  group.firstError ??= frame.toString().slice(0, 300);
}

/** Round trips one at a time; one-way latency is half of each. Fails if a round trip takes 10 s. */
function pingPong(group: Group, pair: Pair, command: { rounds: number; warmup: number }): Promise<number[]> {
  const { isRelay } = group;
  const samples: number[] = [];
  return new Promise((resolve, reject) => {
    let round = 0;
    let sentAt = 0;
    const watchdog = setInterval(() => {
      if (performance.now() - sentAt < 10_000) return;
      clearInterval(watchdog);
      reject(new Error(`a relay did not come back within 10 s${group.firstError ? `; got ${group.firstError}` : ""}`));
    }, 1000);
    const send = () => {
      sentAt = performance.now();
      pair.a.send(pair.frameA, { binary: false });
    };
    pair.onFrames(
      (frame) => {
        if (!isRelay(frame)) return unexpected(group, frame);
        const ms = performance.now() - sentAt;
        if (round++ >= command.warmup) samples.push(ms / 2);
        if (round < command.warmup + command.rounds) return send();
        clearInterval(watchdog);
        resolve(samples);
      },
      (frame) => (isRelay(frame) ? pair.b.send(pair.frameB, { binary: false }) : unexpected(group, frame)),
    );
    send();
  });
}

/** Keeps `window` relays in flight on every pair: A sends, B answers each, A sends again per answer. */
function flood(group: Group, window: number) {
  const { isRelay } = group;
  group.flooding = true;
  for (const pair of group.pairs) {
    pair.onFrames(
      (frame) => {
        if (!isRelay(frame)) return unexpected(group, frame);
        group.messages += 2; // A's relay to B, and B's back
        if (group.flooding) return pair.a.send(pair.frameA, { binary: false });
        // Late from a stop that gave up waiting: already written off.
        if (group.inFlight === 0) return;
        group.inFlight--;
        if (group.inFlight === 0) group.drained?.();
      },
      (frame) => (isRelay(frame) ? pair.b.send(pair.frameB, { binary: false }) : unexpected(group, frame)),
    );
    for (let i = 0; i < window; i++) pair.a.send(pair.frameA, { binary: false });
    group.inFlight += window;
  }
}

/** Stops sending and waits (up to 10 s) for the relays in flight to come back. */
async function stopFlood(group: Group) {
  group.flooding = false;
  if (group.inFlight === 0) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      // Relays lost (or very late) would shrink the next window's flood: say so, as an error.
      group.errors++;
      group.firstError ??= `${group.inFlight} relays in flight had not come back 10 s after a stop`;
      resolve();
    }, 10_000);
    group.drained = () => {
      clearTimeout(timer);
      resolve();
    };
  });
  group.drained = null;
  group.inFlight = 0;
}
