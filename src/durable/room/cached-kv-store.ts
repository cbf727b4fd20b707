import { incremented, type KvStore } from "../../signaling/kv-store";

/** A store that can hand over all its hashes in one read (SqlKvStore: one query). */
interface LoadsEverything {
  everything(): Map<string, Map<string, string>>;
}

/**
 * A {@link KvStore} held in memory and written through to another (the
 * object's SQLite): read from storage once per object instance, the first
 * time a hash is needed (all hashes in one read when the storage can), and
 * from memory after that. Writes go to both, storage first, so a write that
 * fails leaves memory as it was; since memory knows what exists, each write
 * reaches storage as the one statement it needs (a new field as `hsetnx`).
 * A fresh instance (after eviction or a restart) starts empty and reads
 * again, which is how the room's membership is "rebuilt when a fresh
 * instance wakes".
 *
 * Only this object writes its storage, so memory cannot go stale.
 *
 * @example const kv = new CachedKvStore(new SqlKvStore(ctx.storage.sql));
 */
export class CachedKvStore implements KvStore {
  readonly #hashes = new Map<string, Map<string, string>>();
  /** Whether every hash storage holds is in memory (then a missing one is empty). */
  #complete = false;

  constructor(private readonly storage: KvStore & Partial<LoadsEverything>) {}

  hget(key: string, field: string): string | null {
    return this.#hash(key).get(field) ?? null;
  }

  hset(key: string, field: string, value: string): number {
    const hash = this.#hash(key);
    // A field new to memory is new to storage (only this object writes it): one
    // INSERT. Were it there after all, it is overwritten, as HSET must.
    const added = hash.has(field) ? 0 : this.storage.hsetnx(key, field, value);
    if (added === 0) this.storage.hset(key, field, value);
    hash.set(field, value);
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
    const next = incremented(this.#hash(key).get(field) ?? null, increment);
    this.hset(key, field, String(next));
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
    if (hash) return hash;
    if (!this.#complete && this.storage.everything) {
      for (const [stored, fields] of this.storage.everything()) this.#hashes.set(stored, fields);
      this.#complete = true;
      hash = this.#hashes.get(key);
      if (hash) return hash;
    }
    hash = this.#complete ? new Map<string, string>() : new Map(Object.entries(this.storage.hgetall(key)));
    this.#hashes.set(key, hash);
    return hash;
  }
}
