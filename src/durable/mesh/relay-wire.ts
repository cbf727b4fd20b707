import type { RelayItem } from "./object-rpc";

/**
 * The text that crosses a relay channel (relay-channels.ts), both ways. Only
 * objects of this worker write it; it is parsed defensively all the same.
 *
 * Sender to receiver, a batch: a JSON header, then each relay's frame, all
 * joined by NUL. A frame is an Engine.IO message whose JSON escapes every
 * control character, so NUL never occurs inside one, and the frames cross as
 * they are, not escaped into another JSON string:
 *
 *     {"s":7,"a":0,"t":[["app","room","to"],...]}\0frame7\0frame8...
 *
 * `s` is the sequence number of the first relay (each channel counts from 1),
 * `a` 1 when the sender wants the answer at once (a client waits on an ack, or
 * the sender is settling its relays before its next request). A batch with no
 * relays is a sync: it only asks for that answer.
 *
 * A message stays under {@link MAX_MESSAGE_CHARS}: relays that would make it
 * larger go in the next one, and a relay larger than that alone goes in
 * pieces, each but the last in a batch marked `"c":1` (its last relay goes on
 * in the next batch, which starts with the same sequence number).
 *
 * Receiver to sender, an answer: `{"n":8,"f":[7]}`: every relay up to `n` was
 * handled, and those in `f` were not delivered (their senders ask the room).
 */
export interface RelayBatch {
  first: number;
  answerNow: boolean;
  items: RelayItem[];
  /** The last relay's frame goes on in the next batch. */
  continues?: boolean;
}

export interface RelayAnswer {
  /** Every relay up to this sequence number was handled. */
  upTo: number;
  /** Those of them that were not delivered. */
  undelivered: number[];
}

const SEPARATOR = "\u0000";

/**
 * The longest message, in UTF-16 code units: at most 3 bytes of UTF-8 each,
 * so 768 KiB, under the 1 MiB the runtime takes in one WebSocket message.
 * A relay is at most about one client frame (1 MB), so it takes one to four.
 */
export const MAX_MESSAGE_CHARS = 256 * 1024;

/**
 * Room, app, receiver and punctuation a relay adds to its batch's header: each
 * id counted twice, as JSON escapes a room name's quotes and backslashes.
 */
const itemOverhead = (item: RelayItem) => 2 * (item.ref.app.length + item.ref.room.length + item.to.length) + 16;

/**
 * `items`, numbered from `first`, as batches of at most {@link MAX_MESSAGE_CHARS}
 * (most often one); `answerNow` rides on the last.
 */
export function splitBatch(items: RelayItem[], first: number, answerNow: boolean): RelayBatch[] {
  let total = 64;
  for (const item of items) total += item.frame.length + itemOverhead(item);
  if (total <= MAX_MESSAGE_CHARS) return [{ first, answerNow, items }];
  const batches: RelayBatch[] = [];
  let batch: RelayItem[] = [];
  let size = 64;
  let start = first;
  const close = (continues: boolean) => {
    batches.push(
      continues
        ? { first: start, answerNow: false, items: batch, continues }
        : { first: start, answerNow: false, items: batch },
    );
    start += continues ? batch.length - 1 : batch.length;
    batch = [];
    size = 64;
  };
  for (const item of items) {
    const cost = item.frame.length + itemOverhead(item);
    if (size + cost > MAX_MESSAGE_CHARS && batch.length > 0) close(false);
    if (size + cost <= MAX_MESSAGE_CHARS) {
      batch.push(item);
      size += cost;
      continue;
    }
    // Too large for a message of its own: in pieces, each filling what its message has room for.
    let at = 0;
    while (at < item.frame.length) {
      // A piece always starts a message of its own (what was before it left in the message before),
      // so it has room for most of the budget.
      let end = Math.min(item.frame.length, at + Math.max(MAX_MESSAGE_CHARS - size - itemOverhead(item), 2));
      // Never between the two halves of a surrogate pair: each piece must be valid text.
      const last = item.frame.charCodeAt(end - 1);
      if (end < item.frame.length && last >= 0xd800 && last <= 0xdbff) end--;
      batch.push({ ...item, frame: item.frame.slice(at, end) });
      if (end < item.frame.length) close(true);
      else size += end - at + itemOverhead(item);
      at = end;
    }
  }
  if (batch.length > 0) close(false);
  (batches[batches.length - 1] as RelayBatch).answerNow = answerNow;
  return batches;
}

export function encodeBatch(batch: RelayBatch): string {
  const header = JSON.stringify({
    s: batch.first,
    a: batch.answerNow ? 1 : 0,
    t: batch.items.map(({ ref, to }) => [ref.app, ref.room, to]),
    ...(batch.continues ? { c: 1 } : {}),
  });
  if (batch.items.length === 0) return header;
  return header + SEPARATOR + batch.items.map((item) => item.frame).join(SEPARATOR);
}

/** Null when `text` is not a batch. */
export function decodeBatch(text: string): RelayBatch | null {
  const parts = text.split(SEPARATOR);
  let header: unknown;
  try {
    header = JSON.parse(parts[0] as string);
  } catch {
    return null;
  }
  if (typeof header !== "object" || header === null) return null;
  const { s, a, t, c } = header as { s?: unknown; a?: unknown; t?: unknown; c?: unknown };
  if (!Number.isSafeInteger(s) || !Array.isArray(t) || t.length !== parts.length - 1) return null;
  const items: RelayItem[] = [];
  for (const [i, target] of t.entries()) {
    if (!Array.isArray(target) || target.length !== 3 || !target.every((part) => typeof part === "string")) return null;
    const [app, room, to] = target as [string, string, string];
    items.push({ ref: { app, room }, to, frame: parts[i + 1] as string });
  }
  if (c === 1 && items.length === 0) return null;
  return c === 1
    ? { first: s as number, answerNow: a === 1, items, continues: true }
    : { first: s as number, answerNow: a === 1, items };
}

export function encodeAnswer(answer: RelayAnswer): string {
  return JSON.stringify({ n: answer.upTo, f: answer.undelivered });
}

/** Null when `text` is not an answer. */
export function decodeAnswer(text: string): RelayAnswer | null {
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof answer !== "object" || answer === null) return null;
  const { n, f } = answer as { n?: unknown; f?: unknown };
  if (!Number.isSafeInteger(n) || !Array.isArray(f) || !f.every((seq) => Number.isSafeInteger(seq))) return null;
  return { upTo: n as number, undelivered: f as number[] };
}
