/**
 * Tasks run one after another per key, keys independent of each other: a
 * socket's frames in arrival order, a room's deliveries to one object in the
 * order the room made them. A task for an idle key starts at once (no
 * microtask later), so a room's frames for its own sockets go out within the
 * request that caused them. A failed task does not stop the queue; its caller
 * still sees the failure.
 *
 * @example queue.run(socketId, () => handle(frame));
 */
export class KeyedQueue {
  readonly #tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key);
    const run = previous ? previous.then(task) : startNow(task);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, settled);
    void settled.then(() => {
      if (this.#tails.get(key) === settled) this.#tails.delete(key);
    });
    return run;
  }

  /** Whether tasks for `key` are running or waiting. */
  busy(key: string): boolean {
    return this.#tails.has(key);
  }
}

function startNow<T>(task: () => Promise<T>): Promise<T> {
  try {
    return task();
  } catch (error) {
    return Promise.reject(error);
  }
}
