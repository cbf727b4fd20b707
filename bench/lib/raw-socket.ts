import WebSocket from "ws";

/**
 * The bench's own Socket.IO client: Engine.IO v4 / Socket.IO v5 frames
 * written and read by hand over a bare `ws` socket, so the driver spends
 * next to nothing per message (socket.io-client encodes, decodes and emits
 * events for each). It speaks exactly what socket.io-client sends for
 * `io(url, { transports: ["websocket"], auth, query })`, `emit` and
 * `emitWithAck`, and answers pings. The same code drives this server and the
 * Node socket.io server.
 */
export interface RawSocket {
  ws: WebSocket;
  /** The Socket.IO socket id from the CONNECT answer (the peer's `peer_id`). */
  id: string;
  /** Sends an event without an ack. */
  emit(event: string, data: unknown): void;
  /** Sends an event with an ack and resolves with the ack's first argument. */
  emitWithAck<T = unknown>(event: string, data: unknown): Promise<T>;
  /** The next event of this name (and matching `where`), received or to come, within 10 s. */
  next<T = Record<string, unknown>>(event: string, where?: (data: T) => boolean): Promise<T>;
  /** Takes the socket over: every Socket.IO frame goes to `handler`, undecoded. */
  takeOver(handler: (frame: Buffer) => void): void;
  close(): void;
}

export interface RawSocketOptions {
  /** Socket.IO's CONNECT payload (socket.io-client's `auth`). */
  auth?: Record<string, unknown>;
  /** Extra handshake query parameters. */
  query?: Record<string, string>;
  /** Offer permessage-deflate (see {@link openWebSocket}). */
  deflate?: boolean;
}

const PING = 0x32; // Engine.IO "2"
const MESSAGE = 0x34; // Engine.IO "4"
const TIMEOUT_MS = 10_000;

/**
 * Opens a bare WebSocket, cheap for the driver: no UTF-8 check of what
 * arrives (the bench's frames are ASCII), no masking work. Compression (permessage-deflate) is offered only if
 * `deflate`: browsers and socket.io-client offer it and workerd accepts it,
 * at a cost in memory per socket and CPU per message; stock socket.io declines it.
 */
export function openWebSocket(url: string, deflate = false): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, {
      perMessageDeflate: deflate,
      skipUTF8Validation: true,
      // An all-zero masking key: ws then sends the payload as it is, with no copy to XOR it.
      // The key only guards against proxy cache poisoning, and there is no proxy on loopback.
      generateMask: (mask) => mask.fill(0),
    });
    ws.once("open", () => resolve(ws)).once("error", reject);
  });
}

/**
 * Connects to `/socket.io/` at `baseUrl` (http or ws) and joins the main namespace.
 *
 * @example
 * const socket = await connectRaw("http://127.0.0.1:8787", { auth: { token: appToken } });
 * const outcome = await socket.emitWithAck("auth-request", { token: appToken });
 */
export async function connectRaw(baseUrl: string, options: RawSocketOptions = {}): Promise<RawSocket> {
  const query = new URLSearchParams({ EIO: "4", transport: "websocket", ...options.query });
  const ws = await openWebSocket(`${baseUrl.replace(/^http/, "ws")}/socket.io/?${query}`, options.deflate);
  const inbox: Array<[string, unknown]> = [];
  const waiters: Array<{ event: string; where: (data: unknown) => boolean; resolve: (data: unknown) => void }> = [];
  const acks = new Map<number, (data: unknown) => void>();
  let nextAck = 0;
  let connected: ((id: string) => void) | null = null;
  let refused: ((reason: Error) => void) | null = null;

  const deliver = (event: string, data: unknown) => {
    const index = waiters.findIndex((w) => w.event === event && w.where(data));
    if (index >= 0) waiters.splice(index, 1)[0]?.resolve(data);
    else inbox.push([event, data]);
  };
  // Engine.IO: "0" open, "2" ping, "4" message; Socket.IO in a message: "0" CONNECT, "2" EVENT, "3" ACK, "4" CONNECT_ERROR.
  const decode = (frame: Buffer) => {
    const text = frame.toString();
    const body = text.slice(2);
    if (text[1] === "0") connected?.((JSON.parse(body) as { sid: string }).sid);
    else if (text[1] === "4") refused?.(new Error(`connect refused: ${body}`));
    else if (text[1] === "2") {
      const [event, data] = JSON.parse(body) as [string, unknown];
      deliver(event, data);
    } else if (text[1] === "3") {
      const bracket = body.indexOf("[");
      const [data] = JSON.parse(body.slice(bracket)) as [unknown];
      acks.get(Number(body.slice(0, bracket)))?.(data);
      acks.delete(Number(body.slice(0, bracket)));
    }
  };
  let handler = decode;
  // Pings are answered here; noops (the runtime's answer to a pong) and other Engine.IO packets are dropped.
  ws.on("message", (frame: Buffer) => {
    if (frame[0] === MESSAGE) handler(frame);
    else if (frame[0] === PING) ws.send(`3${frame.subarray(1)}`);
  });

  const id = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no CONNECT answer from ${baseUrl}`)), TIMEOUT_MS);
    connected = (sid) => {
      clearTimeout(timer);
      resolve(sid);
    };
    refused = (reason) => {
      clearTimeout(timer);
      reject(reason);
    };
    ws.once("close", (code) => reject(new Error(`closed (${code}) before CONNECT was answered`)));
    ws.send(`40${options.auth ? JSON.stringify(options.auth) : ""}`);
  });

  return {
    ws,
    id,
    emit: (event, data) => ws.send(`42${JSON.stringify([event, data])}`),
    emitWithAck: <T>(event: string, data: unknown) =>
      new Promise<T>((resolve, reject) => {
        const ackId = nextAck++;
        const timer = setTimeout(() => reject(new Error(`no ack for ${event} within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
        acks.set(ackId, (answer) => {
          clearTimeout(timer);
          resolve(answer as T);
        });
        ws.send(`42${ackId}${JSON.stringify([event, data])}`);
      }),
    next: <T>(event: string, where: (data: T) => boolean = () => true) => {
      const index = inbox.findIndex(([name, data]) => name === event && where(data as T));
      if (index >= 0) return Promise.resolve(inbox.splice(index, 1)[0]?.[1] as T);
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`no "${event}" within ${TIMEOUT_MS} ms; received: ${JSON.stringify(inbox).slice(0, 500)}`));
        }, TIMEOUT_MS);
        const waiter = {
          event,
          where: where as (data: unknown) => boolean,
          resolve: (data: unknown) => {
            clearTimeout(timer);
            resolve(data as T);
          },
        };
        waiters.push(waiter);
      });
    },
    takeOver: (next) => {
      handler = next;
    },
    close: () => ws.close(),
  };
}
