/**
 * Size in bytes of a value as it travels (JSON, UTF-8); `Infinity` for values
 * JSON cannot carry. Used to hold `peerinfo` and `payload` to their limits.
 *
 * @example jsonBytes({ a: "é" }) === 10
 */
export function jsonBytes(value: unknown): number {
  // The common cases on the relay path, without serializing.
  if (value === undefined) return 0;
  if (value === null) return 4;
  const text = JSON.stringify(value);
  if (text === undefined) return Number.POSITIVE_INFINITY;
  return new TextEncoder().encode(text).byteLength;
}
