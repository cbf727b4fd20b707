import { describe, expect, it } from "vitest";
import type { KvStore } from "../../src/signaling/kv-store";

/**
 * One behaviour, two stores: the in-memory Redis shim (tests) and the
 * Durable Object SQLite store (production) both run this suite, so the rules
 * tested against the shim behave the same in production.
 */
export function describeKvStoreContract(
  name: string,
  withStore: (body: (store: KvStore) => void) => Promise<void>,
): void {
  describe(`KvStore contract: ${name}`, () => {
    it("HSET says whether the field is new, HGET reads it back", () =>
      withStore((store) => {
        expect(store.hget("h", "a")).toBeNull();
        expect(store.hset("h", "a", "1")).toBe(1);
        expect(store.hset("h", "a", "2")).toBe(0);
        expect(store.hget("h", "a")).toBe("2");
        // The same value again is an overwrite too (SQLite: an UPDATE that changes nothing still counts its row).
        expect(store.hset("h", "a", "2")).toBe(0);
        expect(store.hget("h", "a")).toBe("2");
      }));

    it("HSETNX sets only an absent field", () =>
      withStore((store) => {
        expect(store.hsetnx("h", "owner", "x")).toBe(1);
        expect(store.hsetnx("h", "owner", "y")).toBe(0);
        expect(store.hget("h", "owner")).toBe("x");
      }));

    it("HDEL counts removed fields, ignores absent ones and duplicates", () =>
      withStore((store) => {
        store.hset("h", "a", "1");
        store.hset("h", "b", "2");
        expect(store.hdel("h", "a", "a", "zz")).toBe(1);
        expect(store.hdel("missing", "a")).toBe(0);
        expect(store.hgetall("h")).toEqual({ b: "2" });
      }));

    it("a hash whose last field is removed no longer exists", () =>
      withStore((store) => {
        store.hset("h", "a", "1");
        store.hdel("h", "a");
        expect(store.hlen("h")).toBe(0);
        expect(store.del("h")).toBe(0);
      }));

    it("HGETALL and HLEN see every field; absent keys are empty", () =>
      withStore((store) => {
        expect(store.hgetall("none")).toEqual({});
        expect(store.hlen("none")).toBe(0);
        store.hset("h", "a", "1");
        store.hset("h", "b", "");
        store.hset("h", "__proto__", "p");
        const all = store.hgetall("h");
        expect(all).toEqual({ a: "1", b: "", ["__proto__"]: "p" });
        expect(Object.getPrototypeOf(all)).toBe(Object.prototype);
        expect(store.hlen("h")).toBe(3);
      }));

    it("keeps keys apart", () =>
      withStore((store) => {
        store.hset("room:a", "f", "1");
        store.hset("room:b", "f", "2");
        expect(store.hget("room:a", "f")).toBe("1");
        expect(store.del("room:a")).toBe(1);
        expect(store.hget("room:b", "f")).toBe("2");
      }));

    it("HINCRBY counts from 0 and refuses non-integers", () =>
      withStore((store) => {
        expect(store.hincrby("h", "seq", 1)).toBe(1);
        expect(store.hincrby("h", "seq", 5)).toBe(6);
        expect(store.hget("h", "seq")).toBe("6");
        store.hset("h", "text", "abc");
        expect(() => store.hincrby("h", "text", 1)).toThrow(/not an integer/);
      }));

    it("DEL counts keys that existed", () =>
      withStore((store) => {
        store.hset("a", "f", "1");
        store.hset("b", "f", "1");
        expect(store.del("a", "b", "c", "a")).toBe(2);
        expect(store.hgetall("a")).toEqual({});
      }));

    it("keeps unicode and large values intact", () =>
      withStore((store) => {
        const value = JSON.stringify({ name: "Zoë 🎥", sdp: "v=0\r\n".repeat(2000) });
        store.hset("h", "ünï", value);
        expect(store.hget("h", "ünï")).toBe(value);
      }));
  });
}
