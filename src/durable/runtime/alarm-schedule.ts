/**
 * The object's one alarm, as this instance knows it. The runtime keeps a
 * single alarm per object; every job that needs a wake (a socket's auth
 * deadline, the next ping, a join request's expiry, a kept session's end)
 * asks for one no later than its time, and the earliest wins.
 *
 * The time is read from storage once per instance (after that this object
 * is the only one that sets it), and the read is shared: two jobs asking at
 * once must not both read "none" and let the later time overwrite the earlier.
 *
 * @example
 * const alarms = new AlarmSchedule(ctx.storage);
 * await alarms.wakeBy(Date.now() + 30_000);
 */
export class AlarmSchedule {
  /** When the alarm is set for (null: none); undefined until read. */
  #at: number | null | undefined;
  #reading: Promise<void> | undefined;

  constructor(private readonly storage: Pick<DurableObjectStorage, "getAlarm" | "setAlarm" | "deleteAlarm">) {}

  /**
   * Makes sure an alarm fires no later than `at`. `unconfirmed`: what the
   * object sends meanwhile need not wait for this write to be durable (a
   * write that fails resets the object, as any storage failure does).
   */
  async wakeBy(at: number, unconfirmed = false): Promise<void> {
    if (this.#at === undefined) await this.#read();
    if (this.#at !== null && this.#at !== undefined && this.#at <= at) return;
    await this.set(at, unconfirmed);
  }

  /**
   * {@link wakeBy}, unconfirmed, starting in the next turn of the event loop:
   * for a wake that what this turn answers must not wait for. Under `wrangler
   * dev`, setting an alarm held back the answer of the turn that set it by
   * 2-3 ms, unawaited, confirmed or not (a bare object's upgrade, measured
   * with and without); set one turn later, it held back nothing measurable.
   * The caller catches what the promise rejects with.
   */
  wakeByInBackground(at: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, 0)).then(() => this.wakeBy(at, true));
  }

  /** Sets the alarm for `at`, earlier or later than it was. */
  async set(at: number, unconfirmed = false): Promise<void> {
    this.#at = at;
    await this.storage.setAlarm(at, { allowUnconfirmed: unconfirmed });
  }

  /** No wake is needed any more: the alarm is deleted. */
  async clear(): Promise<void> {
    this.#at = null;
    await this.storage.deleteAlarm();
  }

  /** The alarm is running: it is no longer scheduled. */
  fired(): void {
    this.#at = null;
  }

  /** When the alarm is set for, if this instance set or read it. */
  get scheduled(): number | null | undefined {
    return this.#at;
  }

  #read(): Promise<void> {
    this.#reading ??= this.storage.getAlarm().then(
      (at) => {
        // A wake asked for while the read was on its way is already set, and no later than what was read.
        if (this.#at === undefined) this.#at = at;
      },
      (error: unknown) => {
        // The next wake asked for reads again.
        this.#reading = undefined;
        throw error;
      },
    );
    return this.#reading;
  }
}
