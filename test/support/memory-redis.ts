import type { KvStore } from "../../src/signaling/kv-store";

/**
 * FOR TESTS ONLY: an in-memory store with the semantics of the Redis hash
 * commands the signaling rules use, so the rules run in milliseconds without
 * a runtime. test/contract/kv-store-contract.ts holds it and the production
 * SQLite store to the same behaviour.
 */
export class MemoryRedis implements KvStore {
  readonly #hashes = new Map<string, Map<string, string>>();

  hget(key: string, field: string): string | null {
    return this.#hashes.get(key)?.get(field) ?? null;
  }

  hset(key: string, field: string, value: string): number {
    const hash = this.#hash(key);
    const isNew = !hash.has(field);
    hash.set(field, value);
    return isNew ? 1 : 0;
  }

  hsetnx(key: string, field: string, value: string): number {
    if (this.#hashes.get(key)?.has(field)) return 0;
    this.#hash(key).set(field, value);
    return 1;
  }

  hdel(key: string, ...fields: string[]): number {
    const hash = this.#hashes.get(key);
    if (!hash) return 0;
    let removed = 0;
    for (const field of new Set(fields)) if (hash.delete(field)) removed++;
    if (hash.size === 0) this.#hashes.delete(key);
    return removed;
  }

  hgetall(key: string): Record<string, string> {
    return Object.fromEntries(this.#hashes.get(key) ?? []);
  }

  hlen(key: string): number {
    return this.#hashes.get(key)?.size ?? 0;
  }

  hincrby(key: string, field: string, increment: number): number {
    const current = this.hget(key, field) ?? "0";
    if (!/^-?\d+$/.test(current)) throw new Error("ERR hash value is not an integer");
    const next = Number(current) + increment;
    this.hset(key, field, String(next));
    return next;
  }

  del(...keys: string[]): number {
    let removed = 0;
    for (const key of new Set(keys)) if (this.#hashes.delete(key)) removed++;
    return removed;
  }

  #hash(key: string): Map<string, string> {
    let hash = this.#hashes.get(key);
    if (!hash) {
      hash = new Map();
      this.#hashes.set(key, hash);
    }
    return hash;
  }
}
