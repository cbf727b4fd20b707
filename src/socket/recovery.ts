import { randomId } from "./ids";

/**
 * Socket.IO connection state recovery, the pure part: private session ids
 * (`pid`), event offsets, and the bounded log of events a session was sent,
 * from which a reconnect within the window gets what it missed.
 *
 * Wire (socket.io 4.6+): a client that opts in (handshake query
 * `recovery=1`) is answered `40{"sid","pid"}`; every event sent to it ends
 * with one more argument, a string offset; after a drop it reconnects with
 * `{ pid, offset }` in its CONNECT auth, and gets the same sid, `pid` again
 * and every event after `offset`.
 */

/** The handshake query that opts a connection in. */
export function wantsRecovery(url: URL): boolean {
  return url.searchParams.get("recovery") === "1";
}

/**
 * A new pid: the id of the object where the session was born (where a
 * reconnect looks for it, wherever it lives now), a dot, and 120 random bits.
 *
 * @example newPid("ab12…") // "ab12….Zk3v0Q9cS1xq7mD2aLpE"
 */
export function newPid(bornAt: string): string {
  return `${bornAt}.${randomId()}`;
}

/** The object a pid was born at, or null if `pid` is not shaped as one of ours. */
export function pidHome(pid: unknown): string | null {
  if (typeof pid !== "string" || pid.length > 200) return null;
  const match = /^([0-9a-f]{64})\.[\w-]{20}$/.exec(pid);
  return match ? (match[1] as string) : null;
}

/**
 * Appends the offset argument to an EVENT frame (`42[...]`); other frames
 * (acks, CONNECT, Engine.IO control) are sent as they are.
 *
 * @example withOffset('42["ice-candidate",{}]', "7") === '42["ice-candidate",{},"7"]'
 */
export function withOffset(frame: string, offset: string): string {
  if (!frame.startsWith("42[") || !frame.endsWith("]")) return frame;
  return `${frame.slice(0, -1)},"${offset}"]`;
}

/** Bounds of what a session keeps of the events it was sent. */
export interface EventLogLimits {
  /** Most events kept. */
  maxEvents: number;
  /** Most bytes (UTF-16 units, a close bound of the frames' size) kept. */
  maxBytes: number;
}

/** One event as sent: its offset, and its frame with the offset in it. */
export interface LoggedEvent {
  offset: number;
  frame: string;
}

/**
 * The events sent to one connected session, newest last, within limits: the
 * oldest are let go to make room, since only the last few can have been lost
 * in a drop. (What a dropped session misses is kept in storage, under the
 * same limits: src/durable/recovery/session-keeper.ts.)
 */
export class EventLog {
  readonly #events: LoggedEvent[];
  #bytes: number;
  #next: number;

  constructor(
    private readonly limits: EventLogLimits,
    init: { next: number; events?: LoggedEvent[] } = { next: 1 },
  ) {
    this.#events = [...(init.events ?? [])];
    this.#bytes = this.#events.reduce((sum, event) => sum + event.frame.length, 0);
    this.#next = init.next;
  }

  /**
   * Gives an EVENT frame its offset and keeps it. Returns it with the frame
   * to send, offset included.
   *
   * @example log.record('42["room-user-join",{...}]').frame // '42["room-user-join",{...},"12"]'
   */
  record(frame: string): LoggedEvent {
    const offset = this.#next++;
    const event = { offset, frame: withOffset(frame, String(offset)) };
    this.#events.push(event);
    this.#bytes += event.frame.length;
    while (this.#events.length > this.limits.maxEvents || this.#bytes > this.limits.maxBytes) {
      const dropped = this.#events.shift() as LoggedEvent;
      this.#bytes -= dropped.frame.length;
    }
    return event;
  }

  /**
   * The events after `offset` (the last one the client says it received),
   * oldest first; all of them for a client that received none. Null when
   * they cannot all be given: events after it were let go, or the offset is
   * not one this log gave.
   */
  since(offset: unknown): LoggedEvent[] | null {
    if (offset === undefined || offset === null) {
      return this.#events[0] === undefined || this.#events[0].offset === 1 ? [...this.#events] : null;
    }
    if (typeof offset !== "string" || !/^\d{1,15}$/.test(offset)) return null;
    const last = Number(offset);
    if (last >= this.#next) return null;
    const first = this.#events[0]?.offset ?? this.#next;
    // Events between `last` and the oldest kept were let go: a gap the client cannot fill.
    if (last + 1 < first) return null;
    return this.#events.filter((event) => event.offset > last);
  }

  /**
   * Lets the oldest events go until at most `limits` are kept: a dropped
   * session keeps only part of its budget for what it was sent before the
   * drop (most of which arrived), and the rest for what it misses after.
   */
  keepNewest(limits: EventLogLimits): void {
    while (this.#events.length > limits.maxEvents || this.#bytes > limits.maxBytes) {
      const dropped = this.#events.shift() as LoggedEvent;
      this.#bytes -= dropped.frame.length;
    }
  }

  /** Bytes of the events kept (UTF-16 units of their frames). */
  get bytes(): number {
    return this.#bytes;
  }

  /** The offset the next event will get. */
  get next(): number {
    return this.#next;
  }

  get events(): readonly LoggedEvent[] {
    return this.#events;
  }
}
