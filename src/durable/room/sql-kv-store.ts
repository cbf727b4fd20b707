import { incremented, type KvStore } from "../../signaling/kv-store";

/**
 * The signaling rules' store on a Durable Object's SQLite storage: one row
 * per hash field. Calls are synchronous, and writes within one event are
 * committed together by the runtime's implicit transaction.
 *
 * The table is created by the first write, not before: a request that only
 * reads (a join, a relay or a leave naming a room that does not exist) must
 * leave no storage behind, since nothing would ever schedule its deletion.
 */
export class SqlKvStore implements KvStore {
  /** Whether the table exists; unknown until first asked. */
  #table: boolean | undefined;

  constructor(private readonly sql: SqlStorage) {}

  hget(key: string, field: string): string | null {
    if (!this.#hasTable()) return null;
    const row = this.sql
      .exec<{ value: string }>("SELECT value FROM kv_hash WHERE key = ? AND field = ?", key, field)
      .toArray()[0];
    return row ? row.value : null;
  }

  hset(key: string, field: string, value: string): number {
    this.#createTable();
    // An update first: one statement for a field that exists, two for a new one
    // (CachedKvStore sends new fields to hsetnx, one statement).
    const updated = this.sql.exec("UPDATE kv_hash SET value = ? WHERE key = ? AND field = ?", value, key, field);
    if (updated.rowsWritten > 0) return 0;
    this.sql.exec("INSERT INTO kv_hash (key, field, value) VALUES (?, ?, ?)", key, field, value);
    return 1;
  }

  hsetnx(key: string, field: string, value: string): number {
    this.#createTable();
    return this.sql.exec("INSERT OR IGNORE INTO kv_hash (key, field, value) VALUES (?, ?, ?)", key, field, value)
      .rowsWritten;
  }

  hdel(key: string, ...fields: string[]): number {
    if (!this.#hasTable()) return 0;
    let removed = 0;
    for (const field of new Set(fields)) {
      removed += this.sql.exec("DELETE FROM kv_hash WHERE key = ? AND field = ?", key, field).rowsWritten;
    }
    return removed;
  }

  hgetall(key: string): Record<string, string> {
    if (!this.#hasTable()) return {};
    const rows = this.sql.exec<{ field: string; value: string }>("SELECT field, value FROM kv_hash WHERE key = ?", key);
    // fromEntries defines own properties, so a field named "__proto__" stays a field.
    return Object.fromEntries(Array.from(rows, (row) => [row.field, row.value]));
  }

  /**
   * Every hash at once, in one query: what a fresh instance's cache loads
   * (an object's store holds one room, a few dozen fields at most).
   */
  everything(): Map<string, Map<string, string>> {
    const hashes = new Map<string, Map<string, string>>();
    if (!this.#hasTable()) return hashes;
    for (const row of this.sql.exec<{ key: string; field: string; value: string }>(
      "SELECT key, field, value FROM kv_hash",
    )) {
      const hash = hashes.get(row.key) ?? new Map<string, string>();
      hash.set(row.field, row.value);
      hashes.set(row.key, hash);
    }
    return hashes;
  }

  hlen(key: string): number {
    if (!this.#hasTable()) return 0;
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM kv_hash WHERE key = ?", key).one().n;
  }

  hincrby(key: string, field: string, increment: number): number {
    const next = incremented(this.hget(key, field), increment);
    this.hset(key, field, String(next));
    return next;
  }

  del(...keys: string[]): number {
    if (!this.#hasTable()) return 0;
    let removed = 0;
    for (const key of new Set(keys)) {
      if (this.sql.exec("DELETE FROM kv_hash WHERE key = ?", key).rowsWritten > 0) removed++;
    }
    return removed;
  }

  #hasTable(): boolean {
    this.#table ??=
      this.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'kv_hash'").toArray().length > 0;
    return this.#table;
  }

  #createTable(): void {
    if (this.#table) return;
    this.sql.exec(
      `CREATE TABLE IF NOT EXISTS kv_hash (
         key TEXT NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL,
         PRIMARY KEY (key, field)
       ) WITHOUT ROWID`,
    );
    this.#table = true;
  }
}
