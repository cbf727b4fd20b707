/**
 * A value made when first asked for, and made again after `reset`: an
 * object's stores are read from SQLite only by the wakes that need them, and
 * start afresh once the object deleted its storage.
 *
 * @example const kv = new Lazy(() => new CachedKvStore(new SqlKvStore(sql))); kv.get().hget("k", "f");
 */
export class Lazy<T> {
  #value: T | undefined;

  constructor(private readonly make: () => T) {}

  get(): T {
    this.#value ??= this.make();
    return this.#value;
  }

  reset(): void {
    this.#value = undefined;
  }
}
