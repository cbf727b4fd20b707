import type WebSocket from "ws";
import { connectRaw, openWebSocket, type RawSocket } from "./raw-socket";

/**
 * What the bench drives, described in plain data so that driver processes
 * can be handed it:
 * - `signaling`: a server speaking this project's protocol (this server
 *   under `wrangler dev`, or the Node socket.io comparator); `room` placement
 *   names app, room and app token in the handshake query (zero hops), `own`
 *   names nothing there, as the original server's clients do (seed-style);
 * - `floor`: a relay of raw frames between the two sides of a pair; `path`
 *   "hop" puts each side in its own object (the runtime floor's one-hop relay).
 */
export type Target = (
  | {
      kind: "signaling";
      url: string;
      appToken: string;
      app: string;
      placement: "room" | "own";
      /** Where the second peer of each pair connects, when the server is several processes (default: `url`). */
      urlB?: string;
    }
  /** `frameBytes`: the size of this server's relay request, so that the floors carry as many bytes. */
  | { kind: "floor"; url: string; frameBytes: number; path?: "pair" | "hop"; mode?: string }
) & {
  /** Offer permessage-deflate, as browsers and socket.io-client do (`--deflate`). */
  deflate?: boolean;
};

const ICE_CANDIDATE = {
  candidate: "candidate:842163049 1 udp 1677729535 127.0.0.1 50000 typ srflx raddr 0.0.0.0 rport 0 generation 0",
  sdpMLineIndex: 0,
};

/** The frame socket.io-client writes for `emit("relay-ice-candidate", { auth, room, to, ice_candidate })`. */
export function relayFrame(auth: string, room: string, to: string): string {
  return `42${JSON.stringify(["relay-ice-candidate", { auth, room, to, ice_candidate: ICE_CANDIDATE }])}`;
}

/** A socket that passed auth-request and holds its session token. */
export interface BenchSocket extends RawSocket {
  session: string;
}

/**
 * Connects and authenticates one peer, as socket.io-client users do:
 * app token in the CONNECT, then `auth-request` with the token and peerinfo.
 */
export async function benchSocket(
  target: Extract<Target, { kind: "signaling" }>,
  room: string,
  name: string,
  second = false,
): Promise<BenchSocket> {
  const socket = await connectRaw(second ? (target.urlB ?? target.url) : target.url, {
    auth: { token: target.appToken },
    deflate: target.deflate ?? false,
    ...(target.placement === "room" ? { query: { app: target.app, room, token: target.appToken } } : {}),
  });
  const outcome = await socket.emitWithAck<{ ok: boolean; data: { token: string } }>("auth-request", {
    token: target.appToken,
    peerinfo: { name },
  });
  if (!outcome.ok) throw new Error(`auth-request refused: ${JSON.stringify(outcome)}`);
  await socket.next("auth-accept");
  return Object.assign(socket, { session: outcome.data.token });
}

/** `owner` creates `room` and admits `others` one by one: create, join request, accept, as a call starts. */
export async function setUpCall(room: string, owner: BenchSocket, ...others: BenchSocket[]): Promise<void> {
  const created = await owner.emitWithAck<{ ok: boolean }>("room-create-request", { auth: owner.session, room });
  if (!created.ok) throw new Error(`room-create-request refused: ${JSON.stringify(created)}`);
  for (const peer of others) {
    peer.emit("room-join-request", { auth: peer.session, room });
    await owner.next<{ peer_id: string }>("room-join-request", (d) => d.peer_id === peer.id);
    const accepted = await owner.emitWithAck<{ ok: boolean }>("room-join-accept", {
      auth: owner.session,
      room,
      peer_id: peer.id,
    });
    if (!accepted.ok) throw new Error(`room-join-accept refused: ${JSON.stringify(accepted)}`);
    await peer.next("room-join-accept");
  }
}

/** The two sockets of a floor pair; `deflate`: offer compression, as socket.io-client does. */
export async function floorPair(
  url: string,
  id: string,
  deflate = false,
  path: "pair" | "hop" = "pair",
  mode?: string,
): Promise<[WebSocket, WebSocket]> {
  const at = (side: string) =>
    `${url.replace(/^http/, "ws")}/${path}?id=${encodeURIComponent(id)}&side=${side}${mode ? `&mode=${mode}` : ""}`;
  const a = await openWebSocket(at("a"), deflate);
  return [a, await openWebSocket(at("b"), deflate)];
}

/**
 * How many times a call set-up crosses the server one after another: CONNECT
 * and auth-request for each of two peers, create, join request (to the
 * owner), accept. A floor's set-up opens its two sockets and forwards as many
 * frames in turn, so set-up times compare the server's work, not the number
 * of trips.
 */
export const SETUP_CROSSINGS = 7;

/**
 * One call set-up from nothing, timed: two peers connect and authenticate,
 * one creates the room, the other asks, the first accepts. On a floor: two
 * sockets open, then {@link SETUP_CROSSINGS} frames go back and forth.
 * Returns the ms taken and a closer (sockets stay open until the caller is done).
 */
export async function timedSetUp(target: Target, room: string): Promise<{ ms: number; close(): void }> {
  const started = performance.now();
  if (target.kind === "signaling") {
    const a = await benchSocket(target, room, "a");
    const b = await benchSocket(target, room, "b", true);
    await setUpCall(room, a, b);
    return { ms: performance.now() - started, close: () => closeAll(a, b) };
  }
  const [a, b] = await floorPair(target.url, room, target.deflate, target.path, target.mode);
  const frame = "x".repeat(64);
  for (let i = 0; i < SETUP_CROSSINGS; i++) {
    const [from, to] = i % 2 === 0 ? [a, b] : [b, a];
    await new Promise<void>((resolve) => {
      to.once("message", () => resolve());
      from.send(frame);
    });
  }
  return { ms: performance.now() - started, close: () => closeAll(a, b) };
}

function closeAll(...sockets: Array<{ close(): void }>): void {
  for (const socket of sockets) socket.close();
}
