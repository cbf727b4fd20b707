import { utf8BytesExceed } from "../protocol/utf8-size";

/**
 * Size in bytes of a value as it travels (JSON, UTF-8); `Infinity` for values
 * JSON cannot carry.
 *
 * @example jsonBytes({ a: "é" }) === 10
 */
export function jsonBytes(value: unknown): number {
  const text = jsonText(value);
  return text === undefined ? Number.POSITIVE_INFINITY : new TextEncoder().encode(text).byteLength;
}

/**
 * Whether a value takes more than `limit` bytes as JSON: how `peerinfo` and
 * `payload` are held to their limits. A frame may be a megabyte, so this
 * serializes once and counts bytes without copying them, stopping at the limit.
 *
 * @example jsonBytesExceed({ a: "é" }, 8) === true
 */
export function jsonBytesExceed(value: unknown, limit: number): boolean {
  // The common cases on the relay path, without serializing.
  if (value === undefined) return limit < 0;
  if (value === null) return limit < 4;
  const text = jsonText(value);
  return text === undefined || utf8BytesExceed(text, limit);
}

/** JSON of a value, or undefined when JSON cannot carry it (a function, a BigInt, a cycle, a stack overflow). */
function jsonText(value: unknown): string | undefined {
  if (value === undefined) return "";
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}
