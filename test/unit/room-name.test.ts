import { describe, expect, it } from "vitest";
import { isValidRoomName, MAX_ROOM_NAME_LENGTH } from "../../src/signaling/room-name";

describe("room names", () => {
  it.each([
    ["a plain name", "test-room"],
    ["a UUID", "0b7e4c8a-4f0e-4d36-9a53-0c2d0e6b3f11"],
    ["accents and other scripts", "Zoë's café · 会议室"],
    ["an emoji (a surrogate pair)", "party 🎉"],
    ["spaces and punctuation", "a b/c:d?e#f"],
    ["the longest allowed", "r".repeat(MAX_ROOM_NAME_LENGTH)],
  ])("accepts %s", (_label, name) => {
    expect(isValidRoomName(name)).toBe(true);
  });

  it.each([
    ["an empty name", ""],
    ["a name one character too long", "r".repeat(MAX_ROOM_NAME_LENGTH + 1)],
    ["NUL", "a\u0000b"],
    ["a newline", "a\nb"],
    ["DEL", "a\u007fb"],
    // Issue #12: C1 controls, line separators and lone surrogates got through.
    ["U+0080 (C1)", "a\u0080b"],
    ["U+0085 NEXT LINE (C1)", "a\u0085b"],
    ["U+009F (C1)", "a\u009fb"],
    ["U+2028 LINE SEPARATOR", "a\u2028b"],
    ["U+2029 PARAGRAPH SEPARATOR", "a\u2029b"],
    ["a lone high surrogate", "a\ud800b"],
    ["a lone low surrogate", "a\udc00b"],
    ["a high surrogate at the end", "room\ud83c"],
    ["two surrogates in the wrong order", "a\udc00\ud800b"],
    ["a number", 42],
    ["null", null],
  ])("refuses %s", (_label, name) => {
    expect(isValidRoomName(name)).toBe(false);
  });
});
