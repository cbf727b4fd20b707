import { env, SELF } from "cloudflare:test";
import { expect } from "vitest";
import { signAppToken } from "../../src/auth/tokens";

/** A WebSocket to the worker that speaks raw Engine.IO frames, for tests inside workerd (the worker project; it imports cloudflare:test). */
export interface RawSocket {
  ws: WebSocket;
  /** The next frame from the server (fails after a while). */
  next(): Promise<string>;
  send(frame: string | ArrayBuffer): void;
  /** Resolves with the close code once the server closes. */
  closed: Promise<number>;
  /** Opens, reads the open packet, sends CONNECT and checks the answer; returns the socket id. */
  connect(auth?: object): Promise<string>;
  /** Sends an event with an ack id and returns the frames up to and including its ack. */
  request(name: string, data: unknown, ackId?: number): Promise<string[]>;
}

/**
 * Opens a socket with the handshake query `query` ("&app=demo&room=lobby").
 * A query that names a room gets its app's token added, as a real client
 * must send it; pass `token=` yourself to send another (or an empty) one.
 */
export async function openRawSocket(query = ""): Promise<RawSocket> {
  const params = new URLSearchParams(query);
  const app = params.get("app");
  if (params.has("room") && app !== null && !params.has("token")) {
    query += `&token=${await signAppToken(env.TOKEN_SECRET as string, app)}`;
  }
  const res = await SELF.fetch(`https://edge.test/socket.io/?EIO=4&transport=websocket${query}`, {
    headers: { Upgrade: "websocket" },
  });
  expect(res.status).toBe(101);
  const ws = res.webSocket as WebSocket;
  ws.accept();
  const inbox: string[] = [];
  const waiting: Array<(frame: string) => void> = [];
  ws.addEventListener("message", (event) => {
    const frame = typeof event.data === "string" ? event.data : "<binary>";
    const waiter = waiting.shift();
    if (waiter) waiter(frame);
    else inbox.push(frame);
  });
  const closed = new Promise<number>((resolve) => ws.addEventListener("close", (event) => resolve(event.code)));

  const next = () =>
    new Promise<string>((resolve, reject) => {
      const queued = inbox.shift();
      if (queued !== undefined) return resolve(queued);
      const timer = setTimeout(() => reject(new Error("no frame from the server within 2 s")), 2000);
      waiting.push((frame) => {
        clearTimeout(timer);
        resolve(frame);
      });
    });
  const send = (frame: string | ArrayBuffer) => ws.send(frame);

  return {
    ws,
    next,
    send,
    closed,
    async connect(auth) {
      const open = await next();
      expect(open.charAt(0)).toBe("0");
      send(auth ? `40${JSON.stringify(auth)}` : "40");
      const answer = await next();
      expect(answer).toMatch(/^40\{"sid":"[\w-]{20}"\}$/);
      return JSON.parse(answer.slice(2)).sid as string;
    },
    async request(name, data, ackId = 1) {
      send(`42${ackId}${JSON.stringify([name, data])}`);
      const frames: string[] = [];
      for (;;) {
        const frame = await next();
        frames.push(frame);
        if (frame.startsWith(`43${ackId}[`)) return frames;
      }
    },
  };
}

/** The JSON of a Socket.IO event frame (`42[...]`). */
export function eventOf(frame: string): [string, unknown] {
  expect(frame.startsWith("42[")).toBe(true);
  return JSON.parse(frame.slice(2)) as [string, unknown];
}

/** The outcome inside an ack frame (`43<id>[outcome]`). */
export function ackOf(frame: string): unknown {
  const match = /^43\d+(\[.*\])$/s.exec(frame);
  expect(match).not.toBeNull();
  return (JSON.parse(match?.[1] as string) as unknown[])[0];
}
