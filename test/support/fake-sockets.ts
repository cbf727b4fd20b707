/**
 * WebSockets as a Durable Object holds them, for unit tests of its socket
 * jobs in Node (no workerd): what each socket was sent and how it was
 * closed, its attachment, and the runtime's `getWebSockets`/`getTags`.
 *
 * Node 20 has no global `WebSocket`, and Node 22's lacks workerd's
 * `READY_STATE_OPEN`: a test file calls {@link stubWebSocketGlobal} in
 * `beforeAll` (and `vi.unstubAllGlobals()` in `afterAll`).
 */
import { vi } from "vitest";
import type { ConnectionState } from "../../src/signaling/connection-state";

/** workerd's `WebSocket.READY_STATE_*`. */
export const READY_STATE_OPEN = 1;
export const READY_STATE_CLOSED = 3;

/** Makes `WebSocket.READY_STATE_OPEN` what the code under test compares with. */
export function stubWebSocketGlobal(): void {
  vi.stubGlobal("WebSocket", { READY_STATE_OPEN, READY_STATE_CLOSED });
}

/** One WebSocket. Like workerd's, a closed socket throws on `send`; every `close` call is recorded. */
export class FakeSocket {
  readyState = READY_STATE_OPEN;
  readonly sent: string[] = [];
  readonly closes: Array<{ code: number; reason: string }> = [];
  #attachment: unknown = null;

  constructor(readonly tags: string[]) {}

  get ws(): WebSocket {
    return this as unknown as WebSocket;
  }

  /** The first close, if any. */
  get closedWith(): { code: number; reason: string } | undefined {
    return this.closes[0];
  }

  send(frame: string): void {
    if (this.readyState !== READY_STATE_OPEN) throw new TypeError("Can't call WebSocket send() after close().");
    this.sent.push(frame);
  }

  close(code: number, reason: string): void {
    this.closes.push({ code, reason });
    this.readyState = READY_STATE_CLOSED;
  }

  serializeAttachment(value: unknown): void {
    this.#attachment = structuredClone(value);
  }

  deserializeAttachment(): unknown {
    return structuredClone(this.#attachment);
  }
}

/** The runtime's side of an object's hibernatable sockets; counts how often it is asked. */
export class FakeRuntime {
  readonly sockets: FakeSocket[] = [];
  /** Calls of `getWebSockets`, by tag ("" for all). */
  readonly lookups: string[] = [];
  tagLookups = 0;

  /** A socket accepted under `tag`; its state is written by the code under test (`held.opened`). */
  accept(tag: string): FakeSocket {
    const socket = new FakeSocket([tag]);
    this.sockets.push(socket);
    return socket;
  }

  /** The runtime no longer holds `socket` (its close completed). */
  gone(socket: FakeSocket): void {
    this.sockets.splice(this.sockets.indexOf(socket), 1);
  }

  getWebSockets(tag?: string): WebSocket[] {
    this.lookups.push(tag ?? "");
    return this.sockets.filter((s) => tag === undefined || s.tags.includes(tag)).map((s) => s.ws);
  }

  getTags(ws: WebSocket): string[] {
    this.tagLookups++;
    return [...(ws as unknown as FakeSocket).tags];
  }
}

/** A connected peer's state: socket id `socketId`, app "demo", opened at `openedAt`. */
export function connected(socketId: string, extra: Partial<ConnectionState> = {}): ConnectionState {
  return {
    engineId: `e-${socketId}`,
    socketId,
    openedAt: 0,
    app: "demo",
    connected: true,
    authenticated: true,
    peerinfo: null,
    rooms: [],
    requested: [],
    ...extra,
  };
}
