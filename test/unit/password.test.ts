import { describe, expect, it } from "vitest";
import { passwordsMatch } from "../../src/auth/password";

describe("passwordsMatch", () => {
  it.each([
    ["the same password", "demo-chat-password", "demo-chat-password", true],
    ["a different password", "demo-chat-passwore", "demo-chat-password", false],
    ["a prefix", "demo-chat", "demo-chat-password", false],
    ["a longer password", "demo-chat-password!", "demo-chat-password", false],
    ["an empty password", "", "demo-chat-password", false],
    ["a different case", "DEMO-CHAT-PASSWORD", "demo-chat-password", false],
    ["unicode", "pässwörd", "pässwörd", true],
  ])("compares %s", async (_label, presented, expected, result) => {
    expect(await passwordsMatch(presented, expected)).toBe(result);
  });
});
