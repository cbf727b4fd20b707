/**
 * Stubs of other objects of the same namespace, by id string, kept: every
 * relay to another object needs one, and making one is not free. Bounded:
 * past `limit` ids the cache starts again (a stale stub costs only its making).
 *
 * @example const stubs = new ObjectStubs(env.ROOMS); await stubs.get(home).relay(ref, to, frame);
 */
export class ObjectStubs<T extends Rpc.DurableObjectBranded | undefined> {
  readonly #byId = new Map<string, DurableObjectStub<T>>();

  constructor(
    private readonly namespace: DurableObjectNamespace<T>,
    private readonly limit = 1_000,
  ) {}

  /** The stub of the object with id `id` (a string from `DurableObjectId.toString()`); throws if `id` is not one. */
  get(id: string): DurableObjectStub<T> {
    let stub = this.#byId.get(id);
    if (!stub) {
      if (this.#byId.size >= this.limit) this.#byId.clear();
      stub = this.namespace.get(this.namespace.idFromString(id));
      this.#byId.set(id, stub);
    }
    return stub;
  }
}
