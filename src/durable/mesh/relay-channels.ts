import type { Log } from "../runtime/log";
import { type ChannelSocket, closeChannel } from "./channel-socket";
import type { RelayItem } from "./object-rpc";
import { decodeAnswer, encodeBatch } from "./relay-wire";

export interface ChannelsHost {
  /** Opens a channel to object `home` (a WebSocket to its relay receiver, accepted). */
  open(home: string): Promise<ChannelSocket>;
  log: Log;
  /** The clock (tests pass their own); in the runtime, Date.now() moves with each event, not within one. */
  now?: () => number;
}

type Answer = (delivered: boolean) => void;

/** The sending end of the channel to one receiving object. */
interface Channel {
  home: string;
  socket: ChannelSocket | null;
  /** Relays not sent yet (gathered for the turn's end, or queued while the channel opens), and their answers. */
  waiting: RelayItem[];
  waitingAnswers: Answer[];
  /** The answers of relays sent and not yet answered for, in order; the first is relay `sentFrom`. */
  sent: Answer[];
  sentFrom: number;
  /** The next batch asks for its answer at once (a client waits on an ack, or a settle). */
  answerNow: boolean;
  /** While a turn's relays are gathered: how many came in it; null between turns. */
  turn: { relays: number; timer: ReturnType<typeof setTimeout> } | null;
  /** Turns in a row, up to the last, that carried one relay. */
  lone: number;
  /** When a relay last left at once (Date.now(): the runtime's clock moves with each event). */
  leftAtOnce: number;
  /** Called when nothing is left unanswered (settles waiting for this channel). */
  settles: Array<() => void>;
  lastUsed: number;
  idleTimer: ReturnType<typeof setTimeout> | null;
}

/** After this many turns in a row that carried one relay each, a relay leaves at once. */
const LONE_BEFORE_AT_ONCE = 2;

/** A channel with nothing sent for this long is closed, so that neither object is kept from hibernating. */
export const CHANNEL_IDLE_MS = 5_000;

/** Channels kept open at once; past it, the idle ones are closed first. */
const MAX_CHANNELS = 256;

/**
 * The sending end of one-hop relays: one WebSocket per receiving object,
 * opened by the first relay to it and closed after {@link CHANNEL_IDLE_MS}
 * with nothing sent. A relay crossing it is one message with nothing
 * answered per message; the receiving end answers for every relay up to a
 * point, soon but not at once (relay-receiver.ts), at once for those it could
 * not deliver, and at once when asked.
 *
 * Why not an RPC per relay, as before: an RPC is a call and its answer, and
 * the call alone was about 25 µs of the sender's CPU in a profile, whatever
 * it carried. With one relay in flight per pair (ICE candidates trickling)
 * every relay paid one. On the one-hop runtime floor (bench/floor, `Hop`),
 * in turns within one run: one relay in flight 54.8 against 69.3 µs of server
 * CPU per relay and 0.120 against 0.133 ms one-way; eight in flight 22.5
 * against 26.8 µs (bench/RESULTS.md). Cloudflare also bills WebSocket messages
 * to an object at 20 to 1, an RPC call as one request.
 *
 * Batching, per receiving object: the relays that arrive in one turn of the
 * event loop leave together at its end (`setTimeout(0)`), one message; after
 * {@link LONE_BEFORE_AT_ONCE} turns in a row that carried one relay each
 * (a ping-pong), a turn's first relay leaves at once and only what follows it
 * in the turn waits. Sending every relay at once lost with eight in flight
 * (48 against 22.5 µs per relay on the floor): frames that travel together
 * arrive together and leave together again, and a message per frame breaks
 * that.
 *
 * Order is kept per receiving object: one channel, one sequence. A peer's
 * relays reach their receivers before anything its next request causes:
 * {@link RelayChannels.settled} asks each channel for its answer at once and
 * waits for it.
 */
export class RelayChannels {
  readonly #channels = new Map<string, Channel>();

  readonly #now: () => number;

  constructor(private readonly host: ChannelsHost) {
    this.#now = host.now ?? Date.now;
  }

  /**
   * Sends `item` to object `home`. Resolves true when that object delivered
   * it, false when it did not or the channel was lost (the sender then asks
   * the room). `answerNow`: a client waits on this relay's outcome.
   */
  send(home: string, item: RelayItem, answerNow: boolean): Promise<boolean> {
    const channel = this.#channelTo(home);
    const delivered = new Promise<boolean>((resolve) => channel.waitingAnswers.push(resolve));
    channel.waiting.push(item);
    if (answerNow) channel.answerNow = true;
    if (channel.turn) {
      channel.turn.relays++;
      return delivered;
    }
    if (channel.lone >= LONE_BEFORE_AT_ONCE) {
      // One at a time so far: this one leaves now, with no timer, unless another left at once in
      // this same millisecond: then relays are coming together again, and this turn gathers them.
      const now = this.#now();
      if (now !== channel.leftAtOnce) {
        channel.leftAtOnce = now;
        this.#flush(channel);
        return delivered;
      }
      channel.lone = 0;
    }
    channel.turn = { relays: 1, timer: setTimeout(() => this.#endTurn(channel), 0) };
    return delivered;
  }

  /** Settles when every relay sent so far has been answered for by its receiver's object. */
  async settled(): Promise<void> {
    const answered: Array<Promise<void>> = [];
    for (const channel of this.#channels.values()) {
      if (channel.waiting.length === 0 && channel.sent.length === 0) continue;
      answered.push(new Promise((resolve) => channel.settles.push(resolve)));
      channel.answerNow = true;
      this.#endTurn(channel);
    }
    await Promise.all(answered);
  }

  #channelTo(home: string): Channel {
    let channel = this.#channels.get(home);
    if (channel) return channel;
    if (this.#channels.size >= MAX_CHANNELS) this.#closeIdle();
    channel = {
      home,
      socket: null,
      waiting: [],
      waitingAnswers: [],
      sent: [],
      sentFrom: 1,
      answerNow: false,
      turn: null,
      lone: 0,
      leftAtOnce: 0,
      settles: [],
      lastUsed: Date.now(),
      idleTimer: null,
    };
    this.#channels.set(home, channel);
    void this.#open(channel);
    return channel;
  }

  async #open(channel: Channel): Promise<void> {
    let socket: ChannelSocket;
    try {
      socket = await this.host.open(channel.home);
    } catch (error) {
      console.error(`[${this.host.log.name()}] relay channel to ${channel.home} not opened:`, error);
      this.#lose(channel);
      return;
    }
    if (this.#channels.get(channel.home) !== channel) return closeChannel(socket);
    socket.addEventListener("message", (event) => this.#answered(channel, event.data));
    socket.addEventListener("close", () => this.#lose(channel));
    socket.addEventListener("error", () => this.#lose(channel));
    channel.socket = socket;
    // What queued while it opened leaves now, unless its turn is still gathering.
    if (!channel.turn) this.#flush(channel);
  }

  /** Sends the turn's relays: at its end, or sooner when they are being settled. */
  #endTurn(channel: Channel): void {
    const turn = channel.turn;
    if (turn) {
      clearTimeout(turn.timer);
      channel.turn = null;
      channel.lone = turn.relays === 1 ? channel.lone + 1 : 0;
    }
    this.#flush(channel);
  }

  /** Sends what waits (or, when an answer is due and nothing waits, a sync), if the channel is open. */
  #flush(channel: Channel): void {
    const { socket } = channel;
    if (!socket || (channel.waiting.length === 0 && !channel.answerNow)) return;
    const first = channel.sentFrom + channel.sent.length;
    const text = encodeBatch({ first, answerNow: channel.answerNow, items: channel.waiting });
    channel.answerNow = false;
    channel.waiting = [];
    for (const answer of channel.waitingAnswers) channel.sent.push(answer);
    channel.waitingAnswers = [];
    try {
      socket.send(text);
    } catch (error) {
      console.error(`[${this.host.log.name()}] relay channel to ${channel.home} failed:`, error);
      this.#lose(channel);
      return;
    }
    channel.lastUsed = Date.now();
    channel.idleTimer ??= setTimeout(() => this.#closeIfIdle(channel), CHANNEL_IDLE_MS);
  }

  /** The receiving object's answer: every relay up to `upTo` handled, `undelivered` not delivered. */
  #answered(channel: Channel, data: unknown): void {
    const answer = typeof data === "string" ? decodeAnswer(data) : null;
    if (!answer) {
      console.error(`[${this.host.log.name()}] relay channel to ${channel.home}: not an answer`);
      return;
    }
    const done = Math.min(Math.max(answer.upTo - channel.sentFrom + 1, 0), channel.sent.length);
    const from = channel.sentFrom;
    const answers = channel.sent.splice(0, done);
    channel.sentFrom += done;
    if (answer.undelivered.length === 0) {
      for (const resolve of answers) resolve(true);
    } else {
      const undelivered = new Set(answer.undelivered);
      for (const [i, resolve] of answers.entries()) resolve(!undelivered.has(from + i));
    }
    this.#settleIfAnswered(channel);
  }

  #settleIfAnswered(channel: Channel): void {
    if (channel.sent.length > 0 || channel.waiting.length > 0 || channel.settles.length === 0) return;
    for (const settle of channel.settles.splice(0)) settle();
  }

  /**
   * The channel closed or failed: what it had not answered for goes by the
   * room (it may have been delivered; a relay is repeated rather than lost),
   * and the next relay opens a new channel.
   */
  #lose(channel: Channel): void {
    if (this.#channels.get(channel.home) === channel) this.#channels.delete(channel.home);
    if (channel.idleTimer) clearTimeout(channel.idleTimer);
    if (channel.turn) clearTimeout(channel.turn.timer);
    channel.turn = null;
    const answers = [...channel.sent.splice(0), ...channel.waitingAnswers.splice(0)];
    channel.waiting = [];
    for (const resolve of answers) resolve(false);
    this.#settleIfAnswered(channel);
    if (channel.socket) closeChannel(channel.socket);
  }

  #closeIfIdle(channel: Channel): void {
    channel.idleTimer = null;
    const quiet = Date.now() - channel.lastUsed;
    if (quiet >= CHANNEL_IDLE_MS && this.#isIdle(channel)) {
      this.#channels.delete(channel.home);
      if (channel.socket) closeChannel(channel.socket, 1000, "idle");
      return;
    }
    channel.idleTimer = setTimeout(() => this.#closeIfIdle(channel), Math.max(CHANNEL_IDLE_MS - quiet, 100));
  }

  #isIdle(channel: Channel): boolean {
    return channel.socket !== null && channel.waiting.length === 0 && channel.sent.length === 0 && !channel.turn;
  }

  /** Closes the channels with nothing on their way. */
  #closeIdle(): void {
    for (const channel of this.#channels.values()) {
      if (!this.#isIdle(channel)) continue;
      this.#channels.delete(channel.home);
      if (channel.idleTimer) clearTimeout(channel.idleTimer);
      if (channel.socket) closeChannel(channel.socket, 1000, "idle");
    }
  }
}
