import { type ChildProcess, fork } from "node:child_process";
import { join } from "node:path";
import type { DriverCommand, DriverReply, RoomPlan } from "./driver-process";
import type { Target } from "./targets";

/**
 * The driver processes of a run, started once and used for every system, so
 * every system is driven by the same code on the same cores. Rooms are dealt
 * out to them in turn.
 *
 * @example
 * const pool = await DriverPool.start(2);
 * await pool.setup(target, rooms);
 * const samples = await pool.latency(1000, 100);
 */
export class DriverPool {
  #nextId = 0;
  readonly #pending = new Map<number, (reply: DriverReply) => void>();
  /** The drivers that hold pairs now. */
  #busy: ChildProcess[] = [];

  private constructor(private readonly children: ChildProcess[]) {
    for (const child of children) {
      child.on("message", (reply: DriverReply & { id: number }) => {
        this.#pending.get(reply.id)?.(reply);
        this.#pending.delete(reply.id);
      });
    }
  }

  static async start(count: number): Promise<DriverPool> {
    const entry = join(import.meta.dirname, "driver-process.ts");
    const children = Array.from({ length: count }, () =>
      fork(entry, [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] }),
    );
    const guard = () => {
      for (const child of children) child.kill("SIGKILL");
    };
    process.once("exit", guard);
    const pool = new DriverPool(children);
    // Answering a harmless command means the process is up.
    await Promise.all(children.map((child) => pool.#call(child, { type: "close" })));
    return pool;
  }

  /** Process ids of the drivers, for their CPU. */
  get pids(): number[] {
    return this.children.map((child) => child.pid ?? 0);
  }

  /** Sets up `rooms` on `target`, spread over the drivers; returns the relay frame's size in bytes. */
  async setup(target: Target, rooms: RoomPlan[]): Promise<number> {
    const shares = this.children.map((_, i) => rooms.filter((__, r) => r % this.children.length === i));
    this.#busy = this.children.filter((_, i) => (shares[i] as RoomPlan[]).length > 0);
    const replies = await Promise.all(
      this.#busy.map((child, i) => this.#call(child, { type: "setup", target, rooms: shares[i] as RoomPlan[] })),
    );
    const ready = replies.find((reply) => reply.type === "ready");
    return ready?.type === "ready" ? ready.frameBytes : 0;
  }

  /** One-way latencies (ms) of `rounds` round trips on every pair at once, one message in flight per pair. */
  async latency(rounds: number, warmup: number): Promise<number[]> {
    const replies = await this.#all({ type: "latency", rounds, warmup });
    return replies.flatMap((reply) => (reply.type === "latency" ? reply.samples : []));
  }

  async floodStart(window: number): Promise<void> {
    await this.#all({ type: "flood-start", window });
  }

  /** Relayed messages so far, over all drivers, and frames that were not relays (refusals). */
  async count(): Promise<{ messages: number; errors: number; firstError?: string }> {
    const replies = await this.#all({ type: "count" });
    const out: { messages: number; errors: number; firstError?: string } = { messages: 0, errors: 0 };
    for (const reply of replies) {
      if (reply.type !== "count") continue;
      out.messages += reply.messages;
      out.errors += reply.errors;
      if (reply.firstError !== undefined) out.firstError ??= reply.firstError;
    }
    return out;
  }

  async floodStop(): Promise<void> {
    await this.#all({ type: "flood-stop" });
  }

  /** Closes every pair's sockets. */
  async close(): Promise<void> {
    await this.#all({ type: "close" });
    this.#busy = [];
  }

  stop(): void {
    for (const child of this.children) child.kill("SIGTERM");
  }

  async #all(command: DriverCommand): Promise<DriverReply[]> {
    return Promise.all(this.#busy.map((child) => this.#call(child, command)));
  }

  #call(child: ChildProcess, command: DriverCommand): Promise<DriverReply> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, (reply) => (reply.type === "error" ? reject(new Error(reply.message)) : resolve(reply)));
      child.send({ ...command, id });
    });
  }
}
