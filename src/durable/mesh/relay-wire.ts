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
 * larger go in the next one. No relay is larger than that alone: large ones
 * go by RPC (relay-channels.ts, `LARGE_RELAY_CHARS`).
 *
 * Receiver to sender, an answer: `{"n":8,"f":[7]}`: every relay up to `n` was
 * handled, and those in `f` were not delivered (their senders ask the room).
 */
export interface RelayBatch {
  first: number;
  answerNow: boolean;
  items: RelayItem[];
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
 */
export const MAX_MESSAGE_CHARS = 256 * 1024;

/**
 * Room, app, receiver and punctuation a relay adds to its batch's header: each
 * id counted twice, as JSON escapes a room name's quotes and backslashes.
 */
const itemOverhead = (item: RelayItem) => 2 * (item.ref.app.length + item.ref.room.length + item.to.length) + 16;

/**
 * `items`, numbered from `first`, as batches of at most {@link MAX_MESSAGE_CHARS}
 * (most often one; an item is never larger alone); `answerNow` rides on the last.
 */
export function splitBatch(items: RelayItem[], first: number, answerNow: boolean): RelayBatch[] {
  let total = 64;
  for (const item of items) total += item.frame.length + itemOverhead(item);
  if (total <= MAX_MESSAGE_CHARS) return [{ first, answerNow, items }];
  const batches: RelayBatch[] = [];
  let batch: RelayItem[] = [];
  let size = 64;
  let start = first;
  for (const item of items) {
    const cost = item.frame.length + itemOverhead(item);
    if (size + cost > MAX_MESSAGE_CHARS && batch.length > 0) {
      batches.push({ first: start, answerNow: false, items: batch });
      start += batch.length;
      batch = [];
      size = 64;
    }
    batch.push(item);
    size += cost;
  }
  batches.push({ first: start, answerNow, items: batch });
  return batches;
}

export function encodeBatch(batch: RelayBatch): string {
  const header = JSON.stringify({
    s: batch.first,
    a: batch.answerNow ? 1 : 0,
    t: batch.items.map(({ ref, to }) => [ref.app, ref.room, to]),
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
  const { s, a, t } = header as { s?: unknown; a?: unknown; t?: unknown };
  if (!Number.isSafeInteger(s) || !Array.isArray(t) || t.length !== parts.length - 1) return null;
  const items: RelayItem[] = [];
  for (const [i, target] of t.entries()) {
    if (!Array.isArray(target) || target.length !== 3 || !target.every((part) => typeof part === "string")) return null;
    const [app, room, to] = target as [string, string, string];
    items.push({ ref: { app, room }, to, frame: parts[i + 1] as string });
  }
  return { first: s as number, answerNow: a === 1, items };
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
