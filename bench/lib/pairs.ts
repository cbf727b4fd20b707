import WebSocket from "ws";
import { setUpRoom } from "../../test/support/call";
import { connectPeer, type TestPeer } from "../../test/support/peer";

/** Two endpoints that bounce one message back and forth through a relay. */
export interface Pinger {
  /** Sends one message from A to B and waits for B's answer back at A; returns the round trip in ms. */
  roundTrip(): Promise<number>;
  close(): void;
}

/** A pair of raw WebSockets through a floor relay; `frame` is what each side sends. */
export async function rawPair(urlA: string, urlB: string, frame: string): Promise<Pinger> {
  const open = (url: string) =>
    new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.once("open", () => resolve(ws)).once("error", reject);
    });
  const [a, b] = [await open(urlA), await open(urlB)];
  b.on("message", () => b.send(frame));
  let waiting: (() => void) | null = null;
  a.on("message", () => waiting?.());
  return {
    roundTrip: () =>
      timedRoundTrip((done) => {
        waiting = () => {
          waiting = null;
          done();
        };
        a.send(frame);
      }),
    close: () => {
      a.close();
      b.close();
    },
  };
}

export type Placement = "room" | "own";

/**
 * Two real socket.io-clients in one room of the server, bouncing
 * `relay-ice-candidate`. `room` placement puts both sockets in the room's
 * object (zero hops); `own` gives each its own object (every relay crosses
 * two objects over RPC).
 */
export async function signalingPair(
  url: string,
  appToken: string,
  room: string,
  placement: Placement,
): Promise<Pinger & { frameBytes: number }> {
  const [a, b] = [
    await benchPeer(url, appToken, "a", room, placement),
    await benchPeer(url, appToken, "b", room, placement),
  ];
  await setUpRoom(room, a, b);
  return bounce(room, a, b);
}

/** A connected, authenticated peer of the "bench" app, placed in `room`'s object or in its own. */
export function benchPeer(
  url: string,
  appToken: string,
  name: string,
  room: string,
  placement: Placement,
): Promise<TestPeer> {
  return connectPeer({
    url,
    appToken,
    peerinfo: { name },
    ...(placement === "room" ? { query: { app: "bench", room } } : {}),
  });
}

const ICE_CANDIDATE = {
  candidate: "candidate:842163049 1 udp 1677729535 127.0.0.1 50000 typ srflx raddr 0.0.0.0 rport 0 generation 0",
  sdpMLineIndex: 0,
};

/** Makes two members of `room` bounce `relay-ice-candidate` between them: a ping-pong of real relays. */
export function bounce(room: string, a: TestPeer, b: TestPeer): Pinger & { frameBytes: number } {
  // Stop recording events (the test peer keeps an inbox): only the bounce listeners remain.
  a.socket.offAny();
  b.socket.offAny();
  const fromA = { auth: a.session, room, to: b.id, ice_candidate: ICE_CANDIDATE };
  const fromB = { auth: b.session, room, to: a.id, ice_candidate: ICE_CANDIDATE };
  b.socket.on("ice-candidate", () => b.socket.emit("relay-ice-candidate", fromB));
  let waiting: (() => void) | null = null;
  a.socket.on("ice-candidate", () => waiting?.());
  return {
    // The frame socket.io-client sends for one relay, so the floors can send frames of the same size.
    frameBytes: Buffer.byteLength(`42${JSON.stringify(["relay-ice-candidate", fromA])}`),
    roundTrip: () =>
      timedRoundTrip((done) => {
        waiting = () => {
          waiting = null;
          done();
        };
        a.socket.emit("relay-ice-candidate", fromA);
      }),
    close: () => closePeers(a, b),
  };
}

/** Times from `send` until it calls back `done`, in ms. */
function timedRoundTrip(send: (done: () => void) => void): Promise<number> {
  return new Promise((resolve) => {
    const started = performance.now();
    send(() => resolve(performance.now() - started));
  });
}

function closePeers(...peers: TestPeer[]) {
  for (const peer of peers) peer.close();
}

/** One-way latencies (half round trips, ms) of `rounds` round trips on every pinger at once. */
export async function latencies(pingers: Pinger[], rounds: number, warmup: number): Promise<number[]> {
  const samples: number[] = [];
  await Promise.all(
    pingers.map(async (pinger) => {
      for (let i = 0; i < warmup; i++) await pinger.roundTrip();
      for (let i = 0; i < rounds; i++) samples.push((await pinger.roundTrip()) / 2);
    }),
  );
  return samples;
}

/** Relayed messages per second with every pinger bouncing for `seconds` (one message in flight each). */
export async function throughput(pingers: Pinger[], seconds: number): Promise<number> {
  const until = performance.now() + seconds * 1000;
  let roundTrips = 0;
  const started = performance.now();
  await Promise.all(
    pingers.map(async (pinger) => {
      while (performance.now() < until) {
        await pinger.roundTrip();
        roundTrips++;
      }
    }),
  );
  return (2 * roundTrips) / ((performance.now() - started) / 1000);
}
