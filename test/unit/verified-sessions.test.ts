import { describe, expect, it, vi } from "vitest";
import { TokenError } from "../../src/auth/token-error";
import { VerifiedSessions } from "../../src/auth/verified-sessions";

const claims = (exp: number) => ({ app: "demo", connection: "c1", exp });

describe("VerifiedSessions", () => {
  it("verifies a token once, then trusts the same token for the same connection until it expires", async () => {
    const sessions = new VerifiedSessions();
    const verify = vi.fn(async () => claims(100));
    await sessions.check("c1", "token-a", 1_000, verify);
    await sessions.check("c1", "token-a", 99_999, verify);
    expect(verify).toHaveBeenCalledTimes(1);
    await sessions.check("c1", "token-a", 100_000, verify); // at exp: verified again
    expect(verify).toHaveBeenCalledTimes(2);
  });

  it("verifies another token, or the same token on another connection, in full", async () => {
    const sessions = new VerifiedSessions();
    const verify = vi.fn(async () => claims(100));
    await sessions.check("c1", "token-a", 0, verify);
    await sessions.check("c1", "token-b", 0, verify);
    await sessions.check("c2", "token-b", 0, verify);
    expect(verify).toHaveBeenCalledTimes(3);
  });

  it("remembers nothing about a token that failed", async () => {
    const sessions = new VerifiedSessions();
    const failing = async () => {
      throw new TokenError("ERR_TOKEN_BAD_SIGNATURE", "no");
    };
    await expect(sessions.check("c1", "forged", 0, failing)).rejects.toThrow(TokenError);
    await expect(sessions.check("c1", "forged", 0, failing)).rejects.toThrow(TokenError);
  });

  it("trusts a token it was told was just signed, for that connection and until its expiry only", async () => {
    const sessions = new VerifiedSessions();
    const verify = vi.fn(async () => claims(100));
    sessions.remember("c1", "fresh", 100_000);
    await sessions.check("c1", "fresh", 99_999, verify);
    expect(verify).not.toHaveBeenCalled();
    await sessions.check("c2", "fresh", 0, verify);
    await sessions.check("c1", "fresh", 100_000, verify);
    expect(verify).toHaveBeenCalledTimes(2);
  });

  it("forgets a connection", async () => {
    const sessions = new VerifiedSessions();
    const verify = vi.fn(async () => claims(100));
    await sessions.check("c1", "t", 0, verify);
    sessions.forget("c1");
    await sessions.check("c1", "t", 0, verify);
    expect(verify).toHaveBeenCalledTimes(2);
  });
});
