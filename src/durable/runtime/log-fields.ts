import { isClientEvent } from "../../signaling/client-events";

/**
 * Log fields made safe to print. Some come from clients (a refused request's
 * event name, a room name inside an object name, a close reason), and a log
 * line must stay one short line whatever they hold. Pure, so it is tested
 * without the runtime.
 */

/**
 * Longest text a field keeps, in UTF-16 units: the longest object name,
 * `room:` + a 64-character app + `/` + a 128-character room, fits whole.
 */
export const MAX_LOG_TEXT = 200;

/**
 * What must not reach a log raw: C0, DEL and C1 controls (`\p{Cc}`), line and
 * paragraph separators (which break line-based readers although JSON allows
 * them), and bidirectional overrides (which make a line read differently
 * from what it holds).
 */
const UNSAFE = /[\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;
const UNSAFE_ALL = new RegExp(UNSAFE.source, "gu");

/**
 * Fields as they may be logged: `event` is a known client event or
 * `"unknown"`; every string is capped and escaped; numbers, booleans and
 * null pass; anything else becomes capped text.
 *
 * @example
 * logFields({ event: "x".repeat(60_000), code: 1009 }); // { event: "unknown", code: 1009 }
 */
export function logFields(fields: Record<string, unknown>): Record<string, unknown> {
  const safe: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) safe[key] = logValue(key, value);
  return safe;
}

/**
 * A string capped at {@link MAX_LOG_TEXT} units (then `…` and the full length)
 * with unsafe characters written as `\uXXXX` text. Cheap when there is
 * nothing to do: one regular expression test.
 *
 * @example logText("lobby\u2028") === "lobby\\u2028"
 */
export function logText(value: string): string {
  const cut = value.length > MAX_LOG_TEXT;
  let text = cut ? value.slice(0, MAX_LOG_TEXT) : value;
  // Half a surrogate pair would print as an escape of its own: drop it.
  if (cut && (text.charCodeAt(text.length - 1) & 0xfc00) === 0xd800) text = text.slice(0, -1);
  if (UNSAFE.test(text)) text = text.replace(UNSAFE_ALL, escapeChar);
  return cut ? `${text}…(${value.length} chars)` : text;
}

function logValue(key: string, value: unknown): unknown {
  if (typeof value === "string") {
    if (key === "event") return isClientEvent(value) ? value : "unknown";
    return logText(value);
  }
  if (value === null || value === undefined || typeof value === "number" || typeof value === "boolean") return value;
  if (typeof value === "bigint") return String(value);
  try {
    return logText(JSON.stringify(value) ?? String(value));
  } catch {
    return "[unprintable]";
  }
}

function escapeChar(char: string): string {
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`;
}
