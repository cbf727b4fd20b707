/**
 * Size in bytes of a value as it travels (JSON, UTF-8); `Infinity` for values
 * JSON cannot carry. Used to hold `peerinfo` and `payload` to their limits.
 *
 * @example jsonBytes({ a: "é" }) === 10
 */
export function jsonBytes(value: unknown): number {
  if (value === undefined || value === null) return value === null ? 4 : 0;
  const text = JSON.stringify(value);
  if (text === undefined) return Number.POSITIVE_INFINITY;
  return new TextEncoder().encode(text).byteLength;
}
