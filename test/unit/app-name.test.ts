import { describe, expect, it } from "vitest";
import { isValidAppName } from "../../src/auth/app-name";

describe("isValidAppName", () => {
  it.each(["demo-chat-test", "a", "A1", "my_app.v2", "x".repeat(64)])("accepts %j", (name) => {
    expect(isValidAppName(name)).toBe(true);
  });

  it.each([
    "",
    "x".repeat(65),
    "-leading-dash",
    ".hidden",
    "has space",
    "slash/inside",
    "colon:inside",
    "ünïcode",
    "new\nline",
    42,
    null,
    ["demo"],
  ])("refuses %j", (name) => {
    expect(isValidAppName(name)).toBe(false);
  });
});
