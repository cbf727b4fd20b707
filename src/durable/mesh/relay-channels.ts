import type { Log } from "../runtime/log";
import { answerClose, type ChannelSocket, closeChannel } from "./channel-socket";
import type { RelayItem } from "./object-rpc";
import { decodeAnswer, encodeBatch, type MAX_MESSAGE_CHARS, splitBatch } from "./relay-wire";

export interface ChannelsHost {
  /** Opens a channel to object `home` (a WebSocket to its relay receiver, accepted). */
  open(home: string): Promise<ChannelSocket>;
  /** Sends one relay to object `home` by RPC; true if delivered (see {@link LARGE_RELAY_CHARS}). */
  relayByRpc(home: string, item: RelayItem): Promise<boolean>;
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
  /** The length of each relay in `sent` (UTF-16 units), and their sum. */
  sentChars: number[];
  unansweredChars: number;
  /** The next batch asks for its answer at once (a client waits on an ack, or a settle). */
  answerNow: boolean;
  /** While a turn's relays are gathered: how many came in it; null between turns. */
  turn: { relays: number; timer: ReturnType<typeof setTimeout> } | null;
  /** Turns in a row, up to the last, that carried one relay. */
  lone: number;
  /** When a relay last left at once (the runtime's clock moves with each event). */
  leftAtOnce: number;
  /** Settles waiting for every relay up to a sequence number to be answered for, in order. */
  settles: Array<{ upTo: number; resolve: () => void }>;
  /** When it was asked for; when something was last sent; when it last heard from the other end. */
  createdAt: number;
  lastUsed: number;
  lastAnswer: number;
  watch: ReturnType<typeof setTimeout> | null;
  /** Relays on their way by RPC (a large one, and those behind it), and when the last of them is done. */
  byRpc: number;
  rpcTail: Promise<void>;
}

/** After this many turns in a row that carried one relay each, a relay leaves at once. */
const LONE_BEFORE_AT_ONCE = 2;

/** A channel with nothing sent for this long is closed, so that neither object is kept from hibernating. */
export const CHANNEL_IDLE_MS = 5_000;

/**
 * A channel that has not opened, or has not answered for a relay it was sent,
 * after this long is given up: what it carries goes by the room, and no settle
 * waits on it any longer. Its receiver answers within 250 ms when all is well.
 */
export const CHANNEL_DEADLINE_MS = 5_000;

/**
 * Past this many UTF-16 units of relays unanswered, a batch asks for its
 * answer at once: the sender keeps each relay (its request, for the room if it
 * was not delivered) until it is answered for, and relays may be large.
 */
const MAX_UNANSWERED_CHARS = 1024 * 1024;

/**
 * A relay longer than this (UTF-16 units) goes by RPC, after the relays
 * before it were answered for, and the relays behind it follow it by RPC
 * until none is left on its way. Over the channel a large relay cost far more
 * memory than by RPC: strings copied into and out of the socket's messages,
 * where an RPC copies into native memory. A flood of 990 KB relays between two
 * objects (48 a second, 20 s, `wrangler dev`) peaked at 1,538 MB of runtime
 * memory over the channel against 178 MB by RPC, and another pair's relay
 * round trip at 223 against 64 ms. Descriptions and candidates are smaller.
 */
export const LARGE_RELAY_CHARS = 64 * 1024;

/** How often an open channel is looked at for the idle and deadline rules. */
const WATCH_MS = 1_000;

/** Channels kept at once; past it, the idle ones are closed first. */
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
 * every relay paid one. Seed-style, old code against new in turns: 60.4
 * against 77.3 µs of server CPU per relay with one in flight, and a one-pair
 * p50 of 0.173 against 0.215 ms (bench/RESULTS.md). Cloudflare also bills
 * WebSocket messages to an object at 20 to 1, an RPC call as one request.
 *
 * Batching, per receiving object: the relays that arrive in one turn of the
 * event loop leave together at its end (`setTimeout(0)`), one message. After
 * {@link LONE_BEFORE_AT_ONCE} turns in a row that carried one relay each
 * (a ping-pong), each relay leaves at once, with no timer, until two leave
 * in the same millisecond: relays are coming together again, and the turn
 * gathers them. Sending every relay at once lost with eight in flight (48
 * against 22.5 µs per relay on the one-hop floor): frames that travel
 * together arrive together and leave together again, and a message per frame
 * breaks that.
 *
 * Order is kept per receiving object: one channel, one sequence. A peer's
 * relays reach their receivers before anything its next request causes:
 * {@link RelayChannels.settled} asks each channel for its answer at once and
 * waits for the relays sent so far (not for those sent since).
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
    if (channel.byRpc > 0 || item.frame.length > LARGE_RELAY_CHARS) return this.#sendByRpc(channel, item);
    const delivered = new Promise<boolean>((resolve) => channel.waitingAnswers.push(resolve));
    channel.waiting.push(item);
    if (answerNow) channel.answerNow = true;
    if (channel.turn) {
      channel.turn.relays++;
      return delivered;
    }
    if (channel.lone >= LONE_BEFORE_AT_ONCE) {
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

  /**
   * A large relay, or one behind it: by RPC, in order. The first waits for
   * the channel's relays before it to be answered for; each waits for the one
   * before it.
   */
  #sendByRpc(channel: Channel, item: RelayItem): Promise<boolean> {
    let ahead = channel.rpcTail;
    if (channel.byRpc === 0) {
      const upTo = channel.sentFrom + channel.sent.length + channel.waiting.length - 1;
      if (upTo >= channel.sentFrom) {
        ahead = new Promise((resolve) => channel.settles.push({ upTo, resolve }));
        channel.answerNow = true;
        this.#endTurn(channel);
      }
    }
    channel.byRpc++;
    const delivered = ahead
      .then(() => this.host.relayByRpc(channel.home, item))
      .catch((error: unknown) => {
        console.error(`[${this.host.log.name()}] relay to ${channel.home} by RPC failed:`, error);
        return false;
      });
    channel.rpcTail = delivered.then(() => {
      channel.byRpc--;
    });
    return delivered;
  }

  /** Settles when every relay sent so far has been answered for by its receiver's object (or given up). */
  async settled(): Promise<void> {
    const answered: Array<Promise<void>> = [];
    for (const channel of this.#channels.values()) {
      if (channel.byRpc > 0) answered.push(channel.rpcTail);
      const upTo = channel.sentFrom + channel.sent.length + channel.waiting.length - 1;
      if (upTo < channel.sentFrom) continue;
      answered.push(new Promise((resolve) => channel.settles.push({ upTo, resolve })));
      channel.answerNow = true;
      this.#endTurn(channel);
    }
    await Promise.all(answered);
  }

  #channelTo(home: string): Channel {
    let channel = this.#channels.get(home);
    if (channel) return channel;
    if (this.#channels.size >= MAX_CHANNELS) this.#closeIdle();
    const now = this.#now();
    channel = {
      home,
      socket: null,
      waiting: [],
      waitingAnswers: [],
      sent: [],
      sentFrom: 1,
      sentChars: [],
      unansweredChars: 0,
      answerNow: false,
      turn: null,
      lone: 0,
      leftAtOnce: 0,
      settles: [],
      createdAt: now,
      lastUsed: now,
      lastAnswer: now,
      watch: null,
      byRpc: 0,
      rpcTail: Promise.resolve(),
    };
    this.#channels.set(home, channel);
    const opening = channel;
    opening.watch = setTimeout(() => this.#look(opening), WATCH_MS);
    void this.#open(opening);
    return opening;
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
    if (this.#channels.get(channel.home) !== channel) {
      // Given up while it opened (its deadline passed).
      closeChannel(socket);
      return;
    }
    socket.addEventListener("message", (event) => this.#answered(channel, event.data));
    socket.addEventListener("close", (event) => {
      this.#lose(channel, false);
      answerClose(socket, event.code);
    });
    socket.addEventListener("error", () => this.#lose(channel, false));
    channel.socket = socket;
    channel.lastAnswer = this.#now();
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

  /**
   * Sends what waits (or, when an answer is due and nothing waits, a sync), if
   * the channel is open: one message, or several when it would be larger than
   * the runtime takes ({@link MAX_MESSAGE_CHARS}).
   */
  #flush(channel: Channel): void {
    const { socket } = channel;
    if (!socket || (channel.waiting.length === 0 && !channel.answerNow)) return;
    const items = channel.waiting;
    for (const item of items) {
      channel.sentChars.push(item.frame.length);
      channel.unansweredChars += item.frame.length;
    }
    const answerNow = channel.answerNow || channel.unansweredChars > MAX_UNANSWERED_CHARS;
    const first = channel.sentFrom + channel.sent.length;
    channel.waiting = [];
    channel.answerNow = false;
    if (channel.sent.length === 0) channel.lastAnswer = this.#now();
    for (const answer of channel.waitingAnswers) channel.sent.push(answer);
    channel.waitingAnswers = [];
    try {
      for (const batch of splitBatch(items, first, answerNow)) {
        socket.send(encodeBatch(batch));
      }
    } catch (error) {
      console.error(`[${this.host.log.name()}] relay channel to ${channel.home} failed:`, error);
      this.#lose(channel);
      return;
    }
    channel.lastUsed = this.#now();
  }

  /** The receiving object's answer: every relay up to `upTo` handled, `undelivered` not delivered. */
  #answered(channel: Channel, data: unknown): void {
    const answer = typeof data === "string" ? decodeAnswer(data) : null;
    if (!answer) {
      console.error(`[${this.host.log.name()}] relay channel to ${channel.home}: not an answer`);
      return;
    }
    channel.lastAnswer = this.#now();
    const done = Math.min(Math.max(answer.upTo - channel.sentFrom + 1, 0), channel.sent.length);
    const from = channel.sentFrom;
    const answers = channel.sent.splice(0, done);
    for (const chars of channel.sentChars.splice(0, done)) channel.unansweredChars -= chars;
    channel.sentFrom += done;
    if (answer.undelivered.length === 0) {
      for (const resolve of answers) resolve(true);
    } else {
      const undelivered = new Set(answer.undelivered);
      for (const [i, resolve] of answers.entries()) resolve(!undelivered.has(from + i));
    }
    // Each settle waits for the relays sent before it, not for those sent since.
    while (channel.settles.length > 0 && (channel.settles[0] as { upTo: number }).upTo < channel.sentFrom) {
      (channel.settles.shift() as { resolve: () => void }).resolve();
    }
  }

  /**
   * The channel closed, failed or missed its deadline: what it had not
   * answered for goes by the room (it may have been delivered; a relay is
   * repeated rather than lost), and the next relay opens a new channel.
   */
  #lose(channel: Channel, close = true): void {
    if (this.#channels.get(channel.home) === channel) this.#channels.delete(channel.home);
    if (channel.watch) clearTimeout(channel.watch);
    channel.watch = null;
    if (channel.turn) clearTimeout(channel.turn.timer);
    channel.turn = null;
    const answers = [...channel.sent.splice(0), ...channel.waitingAnswers.splice(0)];
    channel.waiting = [];
    for (const resolve of answers) resolve(false);
    for (const settle of channel.settles.splice(0)) settle.resolve();
    if (close && channel.socket) closeChannel(channel.socket, 1011, "given up");
  }

  /** Every {@link WATCH_MS}: closes an idle channel, gives up one past its deadline. */
  #look(channel: Channel): void {
    channel.watch = null;
    const now = this.#now();
    const late = !channel.socket
      ? now - channel.createdAt >= CHANNEL_DEADLINE_MS && "not opened"
      : channel.sent.length > 0 && now - channel.lastAnswer >= CHANNEL_DEADLINE_MS && "not answered for";
    if (late) {
      console.error(`[${this.host.log.name()}] relay channel to ${channel.home}: ${late} in time; given up`);
      this.#lose(channel);
      return;
    }
    if (this.#isIdle(channel) && now - channel.lastUsed >= CHANNEL_IDLE_MS) {
      this.#channels.delete(channel.home);
      if (channel.socket) closeChannel(channel.socket, 1000, "idle");
      return;
    }
    channel.watch = setTimeout(() => this.#look(channel), WATCH_MS);
  }

  #isIdle(channel: Channel): boolean {
    return (
      channel.socket !== null &&
      channel.waiting.length === 0 &&
      channel.sent.length === 0 &&
      !channel.turn &&
      channel.byRpc === 0
    );
  }

  /** Closes the channels with nothing on their way. */
  #closeIdle(): void {
    for (const channel of this.#channels.values()) {
      if (!this.#isIdle(channel)) continue;
      this.#channels.delete(channel.home);
      if (channel.watch) clearTimeout(channel.watch);
      if (channel.socket) closeChannel(channel.socket, 1000, "idle");
    }
  }
}
