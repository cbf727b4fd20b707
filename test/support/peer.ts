import { io, type Socket } from "socket.io-client";
import type WebSocket from "ws";
import type { ClientToServerEvents, ServerToClientEvents } from "../../src/protocol/events";

export type Client = Socket<ServerToClientEvents, ClientToServerEvents>;

/** A socket.io-client peer that records every event, so a test never misses one sent before it looked. */
export interface TestPeer {
  socket: Client;
  id: string;
  /** The session token from auth-accept. */
  session: string;
  /** The next recorded event of this name (and matching `where`), waiting up to `timeoutMs` (5 s) for it. */
  next<T = Record<string, unknown>>(event: string, where?: (data: T) => boolean, timeoutMs?: number): Promise<T>;
  /** Events received so far and not yet taken by `next`. */
  pending(): Array<[string, unknown]>;
  close(): void;
  /** (Again) `auth-request`: refreshes `id` and `session`, as a client does after reconnecting. */
  authenticate(): Promise<void>;
}

export interface PeerOptions {
  url: string;
  appToken: string;
  peerinfo?: unknown;
  /** Handshake query: `{ app, room }` places the socket in that room's object (the app token is added as `token`). */
  query?: Record<string, string>;
  /** Let socket.io-client reconnect by itself (off by default in tests). */
  reconnection?: boolean;
}

/**
 * Connects as the original README does: connect, then `auth-request` with
 * the app token (and peerinfo), keeping the session token from auth-accept.
 */
export async function connectPeer(options: PeerOptions): Promise<TestPeer> {
  const socket: Client = io(options.url, {
    transports: ["websocket"],
    reconnection: options.reconnection ?? false,
    reconnectionDelay: 200,
    reconnectionDelayMax: 500,
    forceNew: true,
    auth: { token: options.appToken },
    ...(options.query ? { query: { token: options.appToken, ...options.query } } : {}),
  });
  const inbox: Array<[string, unknown]> = [];
  const waiters: Array<{ event: string; where: (data: unknown) => boolean; resolve: (data: unknown) => void }> = [];
  socket.onAny((event: string, data: unknown) => {
    const index = waiters.findIndex((w) => w.event === event && w.where(data));
    if (index >= 0) waiters.splice(index, 1)[0]?.resolve(data);
    else inbox.push([event, data]);
  });

  const next = <T>(event: string, where: (data: T) => boolean = () => true, timeoutMs = 5000): Promise<T> => {
    const index = inbox.findIndex(([name, data]) => name === event && where(data as T));
    if (index >= 0) return Promise.resolve(inbox.splice(index, 1)[0]?.[1] as T);
    return new Promise<T>((resolve, reject) => {
      const waiter = { event, where: where as (data: unknown) => boolean, resolve: resolve as (data: unknown) => void };
      waiters.push(waiter);
      setTimeout(() => {
        const at = waiters.indexOf(waiter);
        if (at < 0) return;
        waiters.splice(at, 1);
        reject(new Error(`no "${event}" within ${timeoutMs} ms; received: ${JSON.stringify(inbox)}`));
      }, timeoutMs);
    });
  };

  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("connect_error", reject);
  });
  const peer: TestPeer = {
    socket,
    id: "",
    session: "",
    next,
    pending: () => [...inbox],
    close: () => socket.close(),
    async authenticate() {
      const outcome = await socket.emitWithAck("auth-request", {
        token: options.appToken,
        peerinfo: (options.peerinfo ?? null) as null,
      });
      if (!outcome.ok) throw new Error(`auth-request refused: ${JSON.stringify(outcome.error)}`);
      await next("auth-accept");
      peer.id = socket.id as string;
      peer.session = outcome.data.token;
    },
  };
  await peer.authenticate();
  return peer;
}

/**
 * The `ws` WebSocket under a connected socket.io-client's Engine.IO
 * transport: what a test reaches for to close or cut the connection the way a
 * browser or a network would, which socket.io-client has no call for.
 *
 * @example
 * transportOf(peer.socket).close(1001, "tab closed");
 */
export function transportOf(socket: Socket): WebSocket & { _socket: { destroy(): void } } {
  return (socket.io.engine.transport as unknown as { ws: WebSocket & { _socket: { destroy(): void } } }).ws;
}

/**
 * Cuts a socket.io-client's TCP connection without a close frame, as a
 * network change does: the server sees no goodbye, the client a transport error.
 *
 * @example
 * dropTcp(alice.socket); // with `reconnection: true`, alice reconnects by herself
 */
export function dropTcp(socket: Socket): void {
  transportOf(socket)._socket.destroy();
}

/** Resolves at `peer`'s next connect, a reconnect included. */
export function reconnected(peer: TestPeer): Promise<void> {
  return new Promise((resolve) => peer.socket.once("connect", () => resolve()));
}

/**
 * A peer whose client was kept from reconnecting (`socket.io.reconnection(false)`)
 * comes back now; resolves once it is connected again.
 *
 * @example
 * alice.socket.io.reconnection(false);
 * dropTcp(alice.socket);
 * // ... what happens while she is away ...
 * await comeBack(alice);
 */
export function comeBack(peer: TestPeer): Promise<void> {
  const back = reconnected(peer);
  peer.socket.io.reconnection(true);
  peer.socket.connect();
  return back;
}
