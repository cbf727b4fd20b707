/**
 * The storage the signaling rules need: a handful of Redis hash commands,
 * with Redis semantics. Synchronous on purpose: a rule reads and writes with
 * no await in between, so no other request can interleave inside it.
 *
 * Production: Durable Object SQLite storage (src/durable/room/sql-kv-store.ts).
 * Tests: an in-memory Redis-compatible shim (test/support/memory-redis.ts).
 * test/contract/kv-store-contract.ts holds both to the same behaviour.
 */
export interface KvStore {
  /** HGET: the field's value, or null. */
  hget(key: string, field: string): string | null;
  /** HSET: sets one field; 1 if it is new, 0 if it was overwritten. */
  hset(key: string, field: string, value: string): number;
  /** HSETNX: sets the field only if absent; 1 if set, 0 if it existed. */
  hsetnx(key: string, field: string, value: string): number;
  /** HDEL: removes fields; the count removed. A hash left empty no longer exists. */
  hdel(key: string, ...fields: string[]): number;
  /** HGETALL: every field and value; an absent key is an empty record. */
  hgetall(key: string): Record<string, string>;
  /** HLEN: number of fields; 0 for an absent key. */
  hlen(key: string): number;
  /** HINCRBY: adds to an integer field (absent = 0) and returns the new value; throws if not an integer. */
  hincrby(key: string, field: string, increment: number): number;
  /** DEL: removes keys; the count that existed. */
  del(...keys: string[]): number;
}

/**
 * HINCRBY's arithmetic: the value after adding `increment` to a field's
 * current value (absent = 0). Throws, as Redis does, if it is not an integer.
 *
 * @example incremented("41", 1) // 42
 */
export function incremented(current: string | null, increment: number): number {
  const value = current ?? "0";
  if (!/^-?\d+$/.test(value)) throw new Error("ERR hash value is not an integer");
  return Number(value) + increment;
}
