import { describe, expect, it } from "vitest";
import { jsonBytes, jsonBytesExceed } from "../../src/signaling/json-size";

// The table of sizes at the limit (undefined, null, "é", ...) is in utf8-size.test.ts.

describe("jsonBytes", () => {
  it.each([
    ["a character outside the BMP (4 bytes, 2 UTF-16 units)", "😀", 6],
    ["a lone surrogate, which JSON escapes", "\ud800", 8],
    ["a newline, escaped", "\n", 4],
    ["a control character, escaped", "\u0001", 8],
    ["members JSON drops (undefined, functions)", { a: undefined, f: () => 1, b: 1 }, 7],
    ["numbers JSON cannot write, sent as null", [Number.NaN, Number.POSITIVE_INFINITY], 11],
    ["a value with toJSON, as it is sent", { toJSON: () => "x" }, 3],
    ["a Date, as its ISO string", new Date(0), 26],
  ])("counts %s as it travels", (_label, value, bytes) => {
    expect(jsonBytes(value)).toBe(bytes);
    expect(jsonBytes(value)).toBe(new TextEncoder().encode(JSON.stringify(value)).byteLength);
  });

  const cycle: Record<string, unknown> = {};
  cycle.self = cycle;
  let deep: unknown[] = [];
  for (let i = 0; i < 1_000_000; i++) deep = [deep];

  it.each([
    ["a function", () => 1],
    ["a symbol", Symbol("s")],
    ["a BigInt", 10n],
    ["a cycle", cycle],
    ["an array nested a million deep (JSON.stringify overflows the stack)", deep],
  ])("calls %s Infinity: JSON cannot carry it", (_label, value) => {
    expect(jsonBytes(value)).toBe(Number.POSITIVE_INFINITY);
    expect(jsonBytesExceed(value, Number.MAX_SAFE_INTEGER)).toBe(true);
  });
});

describe("jsonBytesExceed", () => {
  it("holds undefined and null to the limit without serializing: 0 and 4 bytes", () => {
    expect([jsonBytesExceed(undefined, 0), jsonBytesExceed(undefined, -1)]).toEqual([false, true]);
    expect([jsonBytesExceed(null, 4), jsonBytesExceed(null, 3)]).toEqual([false, true]);
  });

  it("counts escapes and multi-byte characters at the limit", () => {
    const value = { s: "é\n😀" }; // {"s":"é\n😀"}: 7 + 2 + 2 + 4 + 1 = 16 bytes
    expect(jsonBytes(value)).toBe(16);
    expect(jsonBytesExceed(value, 16)).toBe(false);
    expect(jsonBytesExceed(value, 15)).toBe(true);
  });

  it("agrees with jsonBytes at every limit around a payload's size", () => {
    const payload = { user_login: "zoë", sdp: "v=0\r\n", tags: ["😀", null, 1.5] };
    const bytes = jsonBytes(payload);
    for (let limit = bytes - 3; limit <= bytes + 3; limit++) {
      expect(jsonBytesExceed(payload, limit), `limit ${limit}`).toBe(bytes > limit);
    }
  });
});
