import { describe, expect, it } from "vitest";
import { CachedKvStore } from "../../src/durable/room/cached-kv-store";
import type { KvStore } from "../../src/signaling/kv-store";
import { describeKvStoreContract } from "../contract/kv-store-contract";
import { MemoryRedis } from "../support/memory-redis";

describeKvStoreContract("in memory over the Redis shim", async (body) => body(new CachedKvStore(new MemoryRedis())));

/** A store that counts the calls that reach it. */
function counted(inner: KvStore) {
  const calls: string[] = [];
  const store = new Proxy(inner, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        calls.push(String(name));
        return value.apply(target, args);
      };
    },
  });
  return { store, calls };
}

describe("CachedKvStore", () => {
  it("reads each hash from storage once, then answers reads from memory", () => {
    const { store, calls } = counted(new MemoryRedis());
    store.hset("members", "a", "1");
    calls.length = 0;
    const cached = new CachedKvStore(store);
    for (let i = 0; i < 100; i++) {
      expect(cached.hget("members", "a")).toBe("1");
      expect(cached.hget("members", "b")).toBeNull();
      expect(cached.hlen("members")).toBe(1);
    }
    expect(calls).toEqual(["hgetall"]);
  });

  it("writes through: a new instance over the same storage sees every write", () => {
    const storage = new MemoryRedis();
    const first = new CachedKvStore(storage);
    first.hset("h", "a", "1");
    first.hsetnx("h", "b", "2");
    first.hincrby("h", "n", 5);
    first.hdel("h", "a");
    first.hset("gone", "x", "1");
    first.del("gone");
    const second = new CachedKvStore(storage);
    expect(second.hgetall("h")).toEqual({ b: "2", n: "5" });
    expect(second.hlen("gone")).toBe(0);
  });

  it("leaves memory as it was when the storage refuses a write", () => {
    const storage = new MemoryRedis();
    storage.hset("h", "n", "not a number");
    const cached = new CachedKvStore(storage);
    expect(() => cached.hincrby("h", "n", 1)).toThrow();
    expect(cached.hget("h", "n")).toBe("not a number");
  });

  it("sends a new field as HSETNX and an existing one as HSET, and still overwrites a field only storage had", () => {
    const { store, calls } = counted(new MemoryRedis());
    const cached = new CachedKvStore(store);
    cached.hset("h", "a", "1");
    cached.hset("h", "a", "2");
    cached.hincrby("h", "n", 3);
    store.hset("h", "b", "written behind the cache's back");
    cached.hset("h", "b", "mine");
    expect(calls).toEqual(["hgetall", "hsetnx", "hset", "hsetnx", "hset", "hsetnx", "hset"]);
    expect(store.hgetall("h")).toEqual({ a: "2", n: "3", b: "mine" });
  });

  it("leaves memory as it was when storage throws on a write", () => {
    const storage = new MemoryRedis();
    const cached = new CachedKvStore(storage);
    cached.hset("h", "a", "1");
    const failing = () => {
      throw new Error("storage is gone");
    };
    Object.assign(storage, { hset: failing, hsetnx: failing, hdel: failing });
    expect(() => cached.hset("h", "a", "2")).toThrow("storage is gone");
    expect(() => cached.hset("h", "b", "2")).toThrow("storage is gone");
    expect(() => cached.hincrby("h", "n", 1)).toThrow("storage is gone");
    expect(() => cached.hdel("h", "a")).toThrow("storage is gone");
    expect(cached.hgetall("h")).toEqual({ a: "1" });
  });

  it("does not write storage for deletes of what is not there", () => {
    const { store, calls } = counted(new MemoryRedis());
    const cached = new CachedKvStore(store);
    expect(cached.hdel("h", "a")).toBe(0);
    expect(cached.del("h")).toBe(0);
    expect(calls).toEqual(["hgetall"]);
  });
});
