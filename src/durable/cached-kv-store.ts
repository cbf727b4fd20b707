import type { KvStore } from "../signaling/kv-store";

/**
 * A {@link KvStore} held in memory and written through to another (the
 * object's SQLite): each hash is read from storage once per object instance,
 * the first time it is needed, and from memory after that. Writes go to both,
 * storage first, so a write that fails leaves memory as it was. A fresh
 * instance (after eviction or a restart) starts empty and reads again, which
 * is how the room's membership is "rebuilt when a fresh instance wakes".
 *
 * Only this object writes its storage, so memory cannot go stale.
 *
 * @example const kv = new CachedKvStore(new SqlKvStore(ctx.storage.sql));
 */
export class CachedKvStore implements KvStore {
  readonly #hashes = new Map<string, Map<string, string>>();

  constructor(private readonly storage: KvStore) {}

  hget(key: string, field: string): string | null {
    return this.#hash(key).get(field) ?? null;
  }

  hset(key: string, field: string, value: string): number {
    const added = this.storage.hset(key, field, value);
    this.#hash(key).set(field, value);
    return added;
  }

  hsetnx(key: string, field: string, value: string): number {
    const hash = this.#hash(key);
    if (hash.has(field)) return 0;
    const set = this.storage.hsetnx(key, field, value);
    if (set === 1) hash.set(field, value);
    return set;
  }

  hdel(key: string, ...fields: string[]): number {
    const hash = this.#hash(key);
    const present = fields.filter((field) => hash.has(field));
    if (present.length === 0) return 0;
    const removed = this.storage.hdel(key, ...present);
    for (const field of present) hash.delete(field);
    return removed;
  }

  hgetall(key: string): Record<string, string> {
    // fromEntries defines own properties, so a field named "__proto__" stays a field.
    return Object.fromEntries(this.#hash(key));
  }

  hlen(key: string): number {
    return this.#hash(key).size;
  }

  hincrby(key: string, field: string, increment: number): number {
    const next = this.storage.hincrby(key, field, increment);
    this.#hash(key).set(field, String(next));
    return next;
  }

  del(...keys: string[]): number {
    const existing = [...new Set(keys)].filter((key) => this.#hash(key).size > 0);
    if (existing.length === 0) return 0;
    const removed = this.storage.del(...existing);
    for (const key of existing) this.#hashes.set(key, new Map());
    return removed;
  }

  #hash(key: string): Map<string, string> {
    let hash = this.#hashes.get(key);
    if (!hash) {
      hash = new Map(Object.entries(this.storage.hgetall(key)));
      this.#hashes.set(key, hash);
    }
    return hash;
  }
}
