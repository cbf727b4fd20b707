import { type ChildProcess, fork } from "node:child_process";
import { join } from "node:path";
import type { DriverCommand, DriverReply, RoomPlan } from "./driver-process";
import type { Target } from "./targets";

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/**
 * The driver processes of a run, started once and used for every system, so
 * every system is driven by the same code on the same cores. Rooms are dealt
 * out to them in turn. Pairs are set up in named groups (one per system,
 * usually), each driven on its own while the others stay connected.
 *
 * @example
 * const pool = await DriverPool.start(2);
 * await pool.setup("zero", target, rooms);
 * const samples = await pool.latency("zero", 1000, 100);
 */
export class DriverPool {
  #nextId = 0;
  readonly #pending = new Map<number, (reply: DriverReply) => void>();
  /** The drivers that hold pairs of each group. */
  readonly #holders = new Map<string, ChildProcess[]>();

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
    await Promise.all(children.map((child) => pool.#call(child, { type: "close", group: "" })));
    return pool;
  }

  /** Process ids of the drivers, for their CPU. */
  get pids(): number[] {
    return this.children.map((child) => child.pid ?? 0);
  }

  /** Sets up `rooms` on `target` as group `group`, spread over the drivers; returns the relay frame's size in bytes. */
  async setup(group: string, target: Target, rooms: RoomPlan[]): Promise<number> {
    const shares = this.children
      .map((child, i) => ({ child, rooms: rooms.filter((_, r) => r % this.children.length === i) }))
      .filter((share) => share.rooms.length > 0);
    this.#holders.set(
      group,
      shares.map((share) => share.child),
    );
    const replies = await Promise.all(
      shares.map((share) => this.#call(share.child, { type: "setup", group, target, rooms: share.rooms })),
    );
    const ready = replies.find((reply) => reply.type === "ready");
    return ready?.type === "ready" ? ready.frameBytes : 0;
  }

  /** One-way latencies (ms) of `rounds` round trips on every pair at once, one message in flight per pair. */
  async latency(group: string, rounds: number, warmup: number): Promise<number[]> {
    const replies = await this.#all(group, { type: "latency", rounds, warmup });
    return replies.flatMap((reply) => (reply.type === "latency" ? reply.samples : []));
  }

  async floodStart(group: string, window: number): Promise<void> {
    await this.#all(group, { type: "flood-start", window });
  }

  /** Relayed messages of a group so far, over all drivers, and frames that were not relays (refusals). */
  async count(group: string): Promise<{ messages: number; errors: number; firstError?: string }> {
    const replies = await this.#all(group, { type: "count" });
    const out: { messages: number; errors: number; firstError?: string } = { messages: 0, errors: 0 };
    for (const reply of replies) {
      if (reply.type !== "count") continue;
      out.messages += reply.messages;
      out.errors += reply.errors;
      if (reply.firstError !== undefined) out.firstError ??= reply.firstError;
    }
    return out;
  }

  async floodStop(group: string): Promise<void> {
    await this.#all(group, { type: "flood-stop" });
  }

  /** Closes the sockets of every pair of a group. */
  async close(group: string): Promise<void> {
    await this.#all(group, { type: "close" });
    this.#holders.delete(group);
  }

  stop(): void {
    for (const child of this.children) child.kill("SIGTERM");
  }

  async #all(group: string, command: DistributiveOmit<DriverCommand, "group">): Promise<DriverReply[]> {
    const holders = this.#holders.get(group) ?? [];
    return Promise.all(holders.map((child) => this.#call(child, { ...command, group } as DriverCommand)));
  }

  #call(child: ChildProcess, command: DriverCommand): Promise<DriverReply> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, (reply) => (reply.type === "error" ? reject(new Error(reply.message)) : resolve(reply)));
      child.send({ ...command, id });
    });
  }
}
