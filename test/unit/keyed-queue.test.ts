import { describe, expect, it } from "vitest";
import { KeyedQueue } from "../../src/durable/runtime/keyed-queue";

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

describe("KeyedQueue", () => {
  it("runs tasks of one key one after another, in order", async () => {
    const queue = new KeyedQueue();
    const seen: string[] = [];
    const task = (name: string, wait: number) => async () => {
      seen.push(`${name} start`);
      for (let i = 0; i < wait; i++) await tick();
      seen.push(`${name} end`);
    };
    await Promise.all([queue.run("a", task("1", 3)), queue.run("a", task("2", 1)), queue.run("a", task("3", 0))]);
    expect(seen).toEqual(["1 start", "1 end", "2 start", "2 end", "3 start", "3 end"]);
  });

  it("lets other keys run meanwhile", async () => {
    const queue = new KeyedQueue();
    const seen: string[] = [];
    let release = () => {};
    const slow = queue.run("a", () => new Promise<void>((resolve) => (release = resolve)));
    await queue.run("b", async () => void seen.push("b"));
    expect(seen).toEqual(["b"]);
    release();
    await slow;
  });

  it("starts a task for an idle key at once, within the caller's turn", () => {
    const queue = new KeyedQueue();
    let started = false;
    void queue.run("a", async () => {
      started = true;
    });
    expect(started).toBe(true);
  });

  it("goes on after a failed task, and gives its caller the failure, thrown or rejected", async () => {
    const queue = new KeyedQueue();
    await expect(queue.run("a", () => Promise.reject(new Error("no")))).rejects.toThrow("no");
    await expect(
      queue.run("a", () => {
        throw new Error("sync");
      }),
    ).rejects.toThrow("sync");
    expect(await queue.run("a", async () => 7)).toBe(7);
    await tick();
    expect(queue.busy("a")).toBe(false);
  });
});
