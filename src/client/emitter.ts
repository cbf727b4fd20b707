/**
 * A minimal typed event emitter that runs in browsers and in Node alike (the
 * library must not depend on `node:events` or on the DOM's EventTarget).
 * A listener that throws is reported and does not stop the others: one
 * application bug must not break a call's signaling.
 *
 * @example
 * class Room extends Emitter<{ peer: (peer: Peer) => void }> {}
 * room.on("peer", (peer) => show(peer));
 */
// biome-ignore lint/suspicious/noExplicitAny: listener signatures vary by event
type Listeners<Events> = { [E in keyof Events]: (...args: any[]) => void };

export class Emitter<Events extends Listeners<Events>> {
  readonly #listeners = new Map<keyof Events, Set<Events[keyof Events]>>();

  /** Calls `listener` for each `event` until `off`; returns a function that removes it. */
  on<E extends keyof Events>(event: E, listener: Events[E]): () => void {
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener);
    return () => this.off(event, listener);
  }

  off<E extends keyof Events>(event: E, listener: Events[E]): void {
    this.#listeners.get(event)?.delete(listener);
  }

  /** Resolves with the arguments of the next `event`. */
  once<E extends keyof Events>(event: E): Promise<Parameters<Events[E]>> {
    return new Promise((resolve) => {
      const off = this.on(event, ((...args: Parameters<Events[E]>) => {
        off();
        resolve(args);
      }) as Events[E]);
    });
  }

  protected emit<E extends keyof Events>(event: E, ...args: Parameters<Events[E]>): void {
    for (const listener of [...(this.#listeners.get(event) ?? [])]) {
      try {
        listener(...args);
      } catch (error) {
        // An application's listener failed: say so, and let the library carry on.
        console.error(`edge-signaling client: a "${String(event)}" listener threw`, error);
      }
    }
  }
}
