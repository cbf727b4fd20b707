import { afterEach, describe, expect, it, vi } from "vitest";
import type { ChannelSocket } from "../../src/durable/mesh/channel-socket";
import {
  CHANNEL_DEADLINE_MS,
  CHANNEL_IDLE_MS,
  LARGE_RELAY_CHARS,
  RelayChannels,
} from "../../src/durable/mesh/relay-channels";
import { ANSWER_DELAY_MS, RelayReceiver } from "../../src/durable/mesh/relay-receiver";
import {
  decodeAnswer,
  decodeBatch,
  encodeAnswer,
  encodeBatch,
  MAX_MESSAGE_CHARS,
} from "../../src/durable/mesh/relay-wire";
import { Log } from "../../src/durable/runtime/log";
import type { RoomRef } from "../../src/signaling/room-store";

const ref = { app: "demo", room: "lobby" };
const log = new Log(undefined, () => "test");
const item = (n: number) => ({ ref, to: "bob", frame: `42["ice-candidate",{"n":${n}}]` });
const turn = () => new Promise((resolve) => setTimeout(resolve, 0));

type Listener = (event: { data: unknown; code: number }) => void;

/** One end of an in-memory WebSocket: what is sent arrives at the other end in a later task, as over a socket. */
class FakeEnd implements ChannelSocket {
  /** Milliseconds a message takes to the other end. */
  constructor(private readonly lag = 0) {}
  other: FakeEnd | null = null;
  closed = false;
  readonly texts: string[] = [];
  readonly #listeners = new Map<string, Listener[]>();

  send(text: string): void {
    if (this.closed) throw new Error("closed");
    this.texts.push(text);
    const other = this.other;
    setTimeout(() => {
      if (!other?.closed) other?.emit("message", { data: text, code: 0 });
    }, this.lag);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    setTimeout(() => this.other?.remoteClose(), 0);
  }

  remoteClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.emit("close", { data: undefined, code: 1000 });
  }

  addEventListener(type: string, listener: Listener): void {
    this.#listeners.set(type, [...(this.#listeners.get(type) ?? []), listener]);
  }

  emit(type: string, event: { data: unknown; code: number }): void {
    for (const listener of this.#listeners.get(type) ?? []) listener(event);
  }
}

/**
 * Relay channels from this object to object "there", whose receiver delivers
 * what `deliver` says (default: everything) at once, or what `slow` answers
 * for when it answers (a kept session's storage, an object the session moved
 * to), recording each delivery.
 */
function channelsToThere(
  deliver: (to: string) => boolean = () => true,
  options: {
    now?: () => number;
    slow?: (to: string) => Promise<boolean> | undefined;
    lag?: number;
    /** Each relay by RPC waits for it. */
    rpcGate?: Promise<void>;
  } = {},
) {
  const delivered: string[] = [];
  const record = (ok: boolean, frame: string) => {
    if (ok) delivered.push(frame);
    return ok;
  };
  const receiver = new RelayReceiver({
    delivery: {
      relayNow: (_ref: RoomRef, to: string, frame: string) =>
        options.slow?.(to) ? undefined : record(deliver(to), frame),
      relay: async (_ref: RoomRef, to: string, frame: string) =>
        record(await (options.slow?.(to) ?? deliver(to)), frame),
    },
    log,
  });
  const opened: FakeEnd[] = [];
  /** Relays sent by RPC (large ones, and those behind them), as they arrived. */
  const byRpc: string[] = [];
  const channels = new RelayChannels({
    relayByRpc: async (_home, { to, frame }) => {
      await options.rpcGate;
      byRpc.push(frame);
      return record(deliver(to), frame);
    },
    open: async () => {
      const here = new FakeEnd(options.lag);
      const there = new FakeEnd(options.lag);
      here.other = there;
      there.other = here;
      receiver.accept(there);
      opened.push(here);
      return here;
    },
    log,
    ...(options.now ? { now: options.now } : {}),
  });
  /** What crossed the channels, as batches (relays per batch) and answers. */
  const wire = () => ({
    batches: opened.flatMap((end) => end.texts.map((text) => decodeBatch(text)?.items.length)),
    answers: opened.flatMap((end) => (end.other as FakeEnd).texts.map((text) => decodeAnswer(text))),
  });
  return { channels, delivered, opened, wire, byRpc };
}

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("relay channels", () => {
  it("carry the relays of one turn to an object in one message, in order, each delivered once", async () => {
    const { channels, delivered, wire } = channelsToThere();
    const outcomes = await Promise.all([1, 2, 3].map((n) => channels.send("there", item(n), false)));
    expect(outcomes).toEqual([true, true, true]);
    expect(delivered).toEqual([1, 2, 3].map((n) => item(n).frame));
    expect(wire().batches).toEqual([3]);
  });

  it("answer for delivered relays together, a little later, not one message per relay", async () => {
    const { channels, wire } = channelsToThere();
    const started = Date.now();
    const sent: Array<Promise<boolean>> = [];
    // Ping-pong: one relay per turn, each delivered before the next leaves.
    for (let n = 1; n <= 4; n++) {
      sent.push(channels.send("there", item(n), false));
      await turn();
      await turn();
    }
    expect(await Promise.all(sent)).toEqual([true, true, true, true]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(ANSWER_DELAY_MS - 5);
    expect(wire().answers).toEqual([{ upTo: 4, undelivered: [] }]);
  });

  it("answer at once when a client waits on the relay's ack", async () => {
    const { channels, wire } = channelsToThere();
    const started = Date.now();
    expect(await channels.send("there", item(1), true)).toBe(true);
    expect(Date.now() - started).toBeLessThan(ANSWER_DELAY_MS);
    expect(wire().answers).toHaveLength(1);
  });

  it("ask for the answer at once past 1 MiB of relays unanswered", async () => {
    const { channels, wire } = channelsToThere();
    const started = Date.now();
    const frame = `42["session-description",{"sdp":"${"v".repeat(60_000)}"}]`;
    const sent: Array<Promise<boolean>> = [];
    for (let n = 0; n < 18; n++) {
      sent.push(channels.send("there", { ...item(n), frame }, false));
      await turn();
      await turn();
    }
    expect(await Promise.all(sent)).toEqual(Array(18).fill(true));
    expect(Date.now() - started).toBeLessThan(ANSWER_DELAY_MS);
    expect(wire().answers[0]).toEqual({ upTo: 18, undelivered: [] });
  });

  it("answer at once for a relay that was not delivered, and say which", async () => {
    const { channels, delivered } = channelsToThere((to) => to !== "carol");
    const started = Date.now();
    const outcomes = await Promise.all([
      channels.send("there", item(1), false),
      channels.send("there", { ...item(2), to: "carol" }, false),
    ]);
    expect(outcomes).toEqual([true, false]);
    expect(delivered).toEqual([item(1).frame]);
    expect(Date.now() - started).toBeLessThan(ANSWER_DELAY_MS);
  });

  it("settle: every relay sent so far is answered for at once, before the next request", async () => {
    const { channels, wire } = channelsToThere();
    const started = Date.now();
    const first = channels.send("there", item(1), false);
    await turn();
    await turn();
    let answered = false;
    void first.then(() => (answered = true));
    await channels.settled();
    expect(answered).toBe(true);
    expect(Date.now() - started).toBeLessThan(ANSWER_DELAY_MS);
    // The relay's batch, then a sync asking for the answer.
    expect(wire().batches).toEqual([1, 0]);
  });

  it("settle: waits for the relays sent before it, not for those other peers keep sending", async () => {
    const { channels } = channelsToThere();
    void channels.send("there", item(0), false);
    await turn();
    await turn();
    let n = 1;
    const others = setInterval(() => void channels.send("there", item(n++), false), 1);
    const started = Date.now();
    await channels.settled();
    const took = Date.now() - started;
    clearInterval(others);
    expect(took).toBeLessThan(ANSWER_DELAY_MS);
    await channels.settled();
  });

  it("keep order when the receiving end takes its time with one relay", async () => {
    let release: () => void = () => {};
    const slow = new Promise<boolean>((resolve) => (release = () => resolve(true)));
    const { channels, delivered } = channelsToThere(undefined, { slow: (to) => (to === "slow" ? slow : undefined) });
    const first = channels.send("there", { ...item(1), to: "slow" }, false);
    await turn();
    const second = channels.send("there", item(2), false);
    await turn();
    await turn();
    expect(delivered).toEqual([]);
    release();
    await Promise.all([first, second, channels.settled()]);
    expect(delivered).toEqual([item(1).frame, item(2).frame]);
  });

  it("send a relay at once after two turns of one relay each, and gather a turn's relays again when they come together", async () => {
    let clock = 1_000;
    const { channels, opened, wire } = channelsToThere(undefined, { now: () => clock });
    for (let n = 1; n <= 2; n++) {
      void channels.send("there", item(n), false);
      await turn();
      await turn();
    }
    expect(wire().batches).toEqual([1, 1]);
    void channels.send("there", item(3), false);
    expect(wire().batches).toEqual([1, 1, 1]); // left with no wait for the turn
    clock++;
    void channels.send("there", item(4), false);
    expect(wire().batches).toEqual([1, 1, 1, 1]); // a millisecond later: at once too
    // Two in the same millisecond: relays are coming together, and the turn gathers them.
    void channels.send("there", item(5), false);
    void channels.send("there", item(6), false);
    expect(wire().batches).toEqual([1, 1, 1, 1]); // the rest of the turn waits for its end
    await turn();
    expect(wire().batches).toEqual([1, 1, 1, 1, 2]);
    // That turn carried two: the next waits for its turn's end again, a millisecond later or not.
    clock++;
    void channels.send("there", item(7), false);
    expect(wire().batches).toEqual([1, 1, 1, 1, 2]);
    await turn();
    expect(wire().batches).toEqual([1, 1, 1, 1, 2, 1]);
    expect(opened).toHaveLength(1);
    await channels.settled();
  });

  it("send what a lost channel had not answered for by the room, and open a new channel for the next relay", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const { channels, opened, delivered } = channelsToThere();
    const lost = channels.send("there", item(1), false);
    await turn();
    await turn();
    // The receiving object went away (a restart) before it answered.
    (opened[0]?.other as FakeEnd | null)?.close();
    expect(await lost).toBe(false);
    expect(delivered).toEqual([item(1).frame]); // it was delivered: the room may repeat it, never lose it
    expect(await channels.send("there", item(2), true)).toBe(true);
    expect(opened).toHaveLength(2);
  });

  it("answer as undelivered what could not be sent because the channel did not open", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const channels = new RelayChannels({
      open: async () => {
        throw new Error("object unreachable");
      },
      relayByRpc: async () => true,
      log,
    });
    expect(await Promise.all([channels.send("there", item(1), false), channels.send("there", item(2), true)])).toEqual([
      false,
      false,
    ]);
    await channels.settled();
  });

  it("give up a channel that does not open in time: its relays go by the room, and nothing waits on it", async () => {
    vi.useFakeTimers();
    vi.spyOn(console, "error").mockImplementation(() => {});
    const channels = new RelayChannels({ open: () => new Promise<never>(() => {}), relayByRpc: async () => true, log });
    const sent = channels.send("there", item(1), false);
    const settled = channels.settled();
    await vi.advanceTimersByTimeAsync(CHANNEL_DEADLINE_MS + 1_000);
    expect(await sent).toBe(false);
    await settled;
  });

  it("give up a channel whose other end does not answer in time, and open another for the next relay", async () => {
    vi.useFakeTimers();
    vi.spyOn(console, "error").mockImplementation(() => {});
    const stuck = new Promise<boolean>(() => {});
    const { channels, opened } = channelsToThere(undefined, { slow: (to) => (to === "stuck" ? stuck : undefined) });
    const lost = channels.send("there", { ...item(1), to: "stuck" }, false);
    const behind = channels.send("there", item(2), false);
    const settled = channels.settled();
    await vi.advanceTimersByTimeAsync(CHANNEL_DEADLINE_MS + 1_000);
    expect([await lost, await behind]).toEqual([false, false]);
    await settled;
    expect(opened[0]?.closed).toBe(true);
    const next = channels.send("there", item(3), true);
    await vi.advanceTimersByTimeAsync(10);
    expect(await next).toBe(true);
    expect(opened).toHaveLength(2);
  });

  it("send a large relay by RPC after the relays before it, those behind it after it, then the channel again", async () => {
    const { channels, delivered, byRpc, wire } = channelsToThere();
    const large = `42["session-description",{"sdp":"${"v".repeat(LARGE_RELAY_CHARS)}"}]`;
    const outcomes = await Promise.all([
      channels.send("there", item(1), false),
      channels.send("there", { ...item(2), frame: large }, false),
      channels.send("there", item(3), false),
    ]);
    expect(outcomes).toEqual([true, true, true]);
    expect(delivered).toEqual([item(1).frame, large, item(3).frame]);
    expect(byRpc).toEqual([large, item(3).frame]);
    // Nothing is left on its way by RPC: the next relay takes the channel again.
    expect(await channels.send("there", item(4), true)).toBe(true);
    expect(delivered.at(-1)).toBe(item(4).frame);
    expect(byRpc).toHaveLength(2);
    expect(wire().batches.filter((n) => n !== 0)).toEqual([1, 1]);
  });

  it("settle: waits for a relay on its way by RPC", async () => {
    let release: () => void = () => {};
    const rpcGate = new Promise<void>((resolve) => (release = resolve));
    const { channels, byRpc } = channelsToThere(undefined, { rpcGate });
    const large = `42["session-description",{"sdp":"${"v".repeat(LARGE_RELAY_CHARS)}"}]`;
    const held = channels.send("there", { ...item(1), frame: large }, false);
    let settled = false;
    const settle = channels.settled().then(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(settled).toBe(false);
    release();
    await settle;
    expect(await held).toBe(true);
    expect(byRpc).toEqual([large]);
  });

  it("split a turn's relays into messages the runtime takes", async () => {
    const { channels, delivered, opened } = channelsToThere();
    const frame = (n: number) => `42["session-description",{"n":${n},"sdp":"${"v".repeat(60_000)}"}]`;
    const sent = Array.from({ length: 10 }, (_, n) => channels.send("there", { ...item(n), frame: frame(n) }, false));
    expect(await Promise.all(sent)).toEqual(Array(10).fill(true));
    expect(delivered).toEqual(Array.from({ length: 10 }, (_, n) => frame(n)));
    const texts = opened[0]?.texts ?? [];
    expect(texts.length).toBeGreaterThan(2);
    for (const text of texts) expect(text.length).toBeLessThanOrEqual(MAX_MESSAGE_CHARS);
  });

  it("keep answering every 250 ms, not per relay, when relays keep coming while answers are on their way", async () => {
    vi.useFakeTimers();
    // 30 ms each way, a 2 KB relay every 20 ms for 30 s: 3 MB in all, never more than a few KB unanswered.
    const { channels, wire } = channelsToThere(undefined, { lag: 30, now: () => Date.now() });
    const frame = `42["ice-candidate",{"candidate":"${"c".repeat(2_000)}"}]`;
    const sent: Array<Promise<boolean>> = [];
    const every = setInterval(() => sent.push(channels.send("there", { ...item(0), frame }, false)), 20);
    await vi.advanceTimersByTimeAsync(30_000);
    clearInterval(every);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await Promise.all(sent)).not.toContain(false);
    expect(wire().answers.length).toBeLessThan(200); // about one per 250 ms; one per relay would be 1,500
  });

  it("do not give up a channel whose other end is slow but answers as it goes", async () => {
    vi.useFakeTimers();
    const second = () => new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 1_000));
    const { channels, delivered } = channelsToThere(undefined, { slow: (to) => (to === "far" ? second() : undefined) });
    // Seven relays for a session that moved (each passed on in 1 s), in one batch: 7 s in all.
    const sent = [1, 2, 3, 4, 5, 6, 7].map((n) => channels.send("there", { ...item(n), to: "far" }, false));
    await vi.advanceTimersByTimeAsync(10_000);
    expect(await Promise.all(sent)).toEqual([true, true, true, true, true, true, true]);
    expect(delivered).toHaveLength(7);
  });

  it("deliver nothing more of a channel that was given up: its sender sends it by the room", async () => {
    vi.useFakeTimers();
    vi.spyOn(console, "error").mockImplementation(() => {});
    let release: () => void = () => {};
    const stuck = new Promise<boolean>((resolve) => (release = () => resolve(true)));
    const { channels, delivered } = channelsToThere(undefined, { slow: (to) => (to === "stuck" ? stuck : undefined) });
    const first = channels.send("there", { ...item(1), to: "stuck" }, false);
    await vi.advanceTimersByTimeAsync(1);
    const behind = channels.send("there", item(2), false);
    await vi.advanceTimersByTimeAsync(CHANNEL_DEADLINE_MS + 1_000);
    expect([await first, await behind]).toEqual([false, false]);
    release();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(delivered).toEqual([item(1).frame]); // the one already being delivered; not the one behind it
  });

  it("close a channel with nothing sent for a while, so that both objects may hibernate", async () => {
    vi.useFakeTimers();
    const { channels, opened } = channelsToThere();
    const sent = channels.send("there", item(1), false);
    await vi.advanceTimersByTimeAsync(ANSWER_DELAY_MS + 10);
    expect(await sent).toBe(true);
    await vi.advanceTimersByTimeAsync(CHANNEL_IDLE_MS / 2);
    void channels.send("there", item(2), false);
    await vi.advanceTimersByTimeAsync(CHANNEL_IDLE_MS - 100);
    expect(opened[0]?.closed).toBe(false); // used 4.9 s ago, not 5
    await vi.advanceTimersByTimeAsync(CHANNEL_IDLE_MS);
    expect(opened[0]?.closed).toBe(true);
    expect((opened[0]?.other as FakeEnd | null)?.closed).toBe(true);
  });
});

describe("the relay channel's wire", () => {
  it("carries frames as they are, NUL-separated after a JSON header", () => {
    const frame = '42["ice-candidate",{"candidate":"a\\u0000b","room":"x"}]';
    const text = encodeBatch({ first: 7, answerNow: true, items: [{ ref, to: "bob", frame }] });
    expect(text).toBe(`{"s":7,"a":1,"t":[["demo","lobby","bob"]]}\u0000${frame}`);
    expect(decodeBatch(text)).toEqual({ first: 7, answerNow: true, items: [{ ref, to: "bob", frame }] });
    expect(decodeBatch(encodeBatch({ first: 3, answerNow: false, items: [] }))).toEqual({
      first: 3,
      answerNow: false,
      items: [],
    });
  });

  it("refuses what is not a batch or an answer", () => {
    for (const text of [
      "",
      "{",
      "[]",
      '{"s":1,"t":[]}\u0000extra',
      '{"s":"1","t":[]}',
      '{"s":1,"t":[["a","b"]]}\u0000f',
    ])
      expect(decodeBatch(text)).toBeNull();
    for (const text of ["", "{}", '{"n":1}', '{"n":1,"f":["2"]}']) expect(decodeAnswer(text)).toBeNull();
    expect(decodeAnswer(encodeAnswer({ upTo: 9, undelivered: [4] }))).toEqual({ upTo: 9, undelivered: [4] });
  });
});
