import { describe, expect, it } from "vitest";
import { utf8BytesExceed } from "../../src/protocol/utf8-size";
import { jsonBytes, jsonBytesExceed } from "../../src/signaling/json-size";

const utf8 = (text: string) => new TextEncoder().encode(text).byteLength;

describe("utf8BytesExceed", () => {
  it.each([
    ["ASCII", "hello"],
    ["two-byte characters", "é".repeat(50)],
    ["three-byte characters", "€".repeat(50)],
    ["surrogate pairs", "😀".repeat(50)],
    ["lone surrogates (U+FFFD, as the runtime encodes them)", "\ud800x\udc00".repeat(20)],
    ["a high surrogate at the end", `${"a".repeat(20)}\ud83d`],
    ["a mix", "aé€😀\ud800".repeat(30)],
  ])("agrees with TextEncoder at every limit for %s", (_label, text) => {
    const bytes = utf8(text);
    for (const limit of [0, 1, bytes - 1, bytes, bytes + 1, Math.floor(bytes / 2), bytes * 3]) {
      expect(utf8BytesExceed(text, limit), `limit ${limit}`).toBe(bytes > limit);
    }
  });
});

describe("jsonBytesExceed", () => {
  it.each([
    [undefined, 0],
    [null, 4],
    [{ a: "é" }, 10],
    ["x".repeat(100), 102],
    [[1, [2, [3]]], 11],
  ])("agrees with jsonBytes for %j", (value, bytes) => {
    expect(jsonBytes(value)).toBe(bytes);
    expect(jsonBytesExceed(value, bytes)).toBe(false);
    expect(jsonBytesExceed(value, bytes - 1)).toBe(true);
  });

  it("calls values JSON cannot carry too large", () => {
    expect(jsonBytesExceed(() => 1, 1_000)).toBe(true);
    expect(jsonBytesExceed(10n, 1_000)).toBe(true);
  });

  it("sizes a 900 KB payload against a small limit", () => {
    expect(jsonBytesExceed({ blob: "é".repeat(450_000) }, 8_192)).toBe(true);
  });
});
