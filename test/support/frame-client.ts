import { expect } from "vitest";
import WebSocket from "ws";

/**
 * The WebSocket URL of a running server's Socket.IO endpoint, with `query`
 * appended as written (`"&app=demo&room=lobby&token=..."`).
 *
 * @example
 * socketUrl("http://127.0.0.1:40123", "&recovery=1") // "ws://127.0.0.1:40123/socket.io/?EIO=4&transport=websocket&recovery=1"
 */
export function socketUrl(serverUrl: string, query = ""): string {
  return `${serverUrl.replace(/^http/, "ws")}/socket.io/?EIO=4&transport=websocket${query}`;
}

/** `42<id>["event",{...}]`, or `42["event",{...}]` without an ack id. */
export const eventFrame = (name: string, data: unknown, ackId?: number): string =>
  `42${ackId ?? ""}${JSON.stringify([name, data])}`;

/**
 * One WebSocket (the `ws` package, from Node) speaking raw Engine.IO /
 * Socket.IO frames, as docs/PROTOCOL.md's "Writing a client" shows them: for
 * end-to-end tests that must write what socket.io-client would not (floods,
 * fuzz, a second connection presenting another's pid). It answers the
 * server's pings by itself and keeps every other frame until a test takes it.
 * test/support/raw-socket.ts is its counterpart inside workerd.
 *
 * @example
 * const client = await FrameClient.open(socketUrl(server.url));
 * await client.next();                  // the open packet, 0{...}
 * client.send("40");
 * expect(await client.next()).toMatch(/^40\{"sid":/);
 */
export class FrameClient {
  /** Frames received and not yet taken, in arrival order (pings are answered, not kept). */
  readonly #inbox: string[] = [];
  #wake: (() => void) | undefined;
  #pingsAnswered = 0;
  /** The close code, once the WebSocket has closed (whoever closed it). */
  readonly closed: Promise<number>;

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data, isBinary) => {
      const frame = isBinary ? "<binary>" : data.toString();
      // Engine.IO ping: answer with a pong at once, whatever else is going on.
      if (frame === "2") {
        ws.send("3");
        this.#pingsAnswered++;
      } else if (frame !== "6") {
        // "6" (noop) is the runtime's answer to a pong: ignored.
        this.#inbox.push(frame);
      }
      this.#wake?.();
    });
    this.closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
  }

  /**
   * Opens the WebSocket; rejects when the upgrade is refused (with its HTTP
   * status) or fails. Later socket errors (a reset after the server closed)
   * are left to `closed`.
   */
  static async open(url: string, headers: Record<string, string> = {}): Promise<FrameClient> {
    const ws = new WebSocket(url, { headers });
    const client = new FrameClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
      ws.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
    ws.on("error", () => {});
    return client;
  }

  send(frame: string): void {
    this.ws.send(frame);
  }

  /** The next frame in arrival order. */
  async next(): Promise<string> {
    return this.#take(() => (this.#inbox.length > 0 ? 0 : -1), "any frame");
  }

  /** The first frame, in arrival order, that is the event `name`: its data. Other frames stay. */
  async event<T = Record<string, unknown>>(name: string, where: (data: T) => boolean = () => true): Promise<T> {
    const prefix = `42${JSON.stringify([name]).slice(0, -1)},`;
    const index = () =>
      this.#inbox.findIndex((f) => f.startsWith(prefix) && where((JSON.parse(f.slice(2)) as [string, T])[1]));
    const frame = await this.#take(index, `event ${name}`);
    return (JSON.parse(frame.slice(2)) as [string, T])[1];
  }

  /** The ack `43<id>[outcome]` of request `id`: its outcome. Other frames stay. */
  async ack(id: number): Promise<unknown> {
    const frame = await this.#take(() => this.#inbox.findIndex((f) => f.startsWith(`43${id}[`)), `ack ${id}`);
    return (JSON.parse(frame.slice(2 + String(id).length)) as unknown[])[0];
  }

  /** Waits until the client has answered `count` server pings, at most `timeoutMs`. */
  async answeredPings(count: number, timeoutMs: number): Promise<void> {
    await expect.poll(() => this.#pingsAnswered, { timeout: timeoutMs }).toBeGreaterThanOrEqual(count);
  }

  /** Frames received and not taken: for a test's last look. */
  unread(): string[] {
    return [...this.#inbox];
  }

  close(): void {
    this.ws.close(1000);
  }

  async #take(find: () => number, what: string): Promise<string> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const at = find();
      if (at >= 0) return this.#inbox.splice(at, 1)[0] as string;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within 5 s; unread: ${JSON.stringify(this.#inbox)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }
}
