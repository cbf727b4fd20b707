import { describe, expect, it } from "vitest";
import { signAppToken, signSessionToken, verifyAppToken, verifySessionToken } from "../../src/auth/tokens";
import { type AuthServices, authRequest } from "../../src/signaling/auth-request";
import { newConnection } from "../../src/signaling/connection-state";

const secret = "auth-request-test-secret-0123456789abc";
const services: AuthServices = {
  maxPeerinfoBytes: 64,
  verifyAppToken: (token) => verifyAppToken(secret, token),
  signSessionToken: (binding) => signSessionToken(secret, { ...binding, lifetimeSeconds: 60 }),
};
const state = (app: string | null = null) => ({
  ...newConnection({ engineId: "e", socketId: "sock-1", openedAt: 0, app }),
  connected: true,
});

describe("auth-request", () => {
  it("accepts a bare app token, as in the original README", async () => {
    const token = await signAppToken(secret, "demo");
    const result = await authRequest(state(), [token], services);
    const [[name, data]] = result.emit as [[string, { token: string }]];
    expect(name).toBe("auth-accept");
    await expect(verifySessionToken(secret, data.token, { app: "demo", connection: "sock-1" })).resolves.toMatchObject({
      app: "demo",
    });
    expect(result.outcome).toEqual({ ok: true, data: { token: data.token } });
    expect(result.update?.(state())).toMatchObject({ app: "demo", authenticated: true, peerinfo: null });
  });

  it("records peerinfo from the object form", async () => {
    const token = await signAppToken(secret, "demo");
    const result = await authRequest(state(), [{ token, peerinfo: { name: "Ann" }, payload: { x: 1 } }], services);
    expect(result.update?.(state()).peerinfo).toEqual({ name: "Ann" });
  });

  it.each([
    ["nothing", []],
    ["a number", [42]],
    ["an object without token", [{ peerinfo: {} }]],
    ["a token that is not a string", [{ token: 5 }]],
  ])("rejects %s with ERR_INVALID_REQUEST", async (_label, args) => {
    const result = await authRequest(state(), args, services);
    expect(result.emit).toEqual([["auth-reject", { code: "ERR_INVALID_REQUEST", message: expect.any(String) }]]);
    expect(result.outcome).toMatchObject({ ok: false, error: { code: "ERR_INVALID_REQUEST" } });
    expect(result.update).toBeUndefined();
  });

  it("rejects a peerinfo over the limit", async () => {
    const token = await signAppToken(secret, "demo");
    const result = await authRequest(state(), [{ token, peerinfo: "x".repeat(100) }], services);
    expect(result.emit).toEqual([["auth-reject", expect.objectContaining({ code: "ERR_INVALID_REQUEST" })]]);
  });

  it("rejects a forged token with 'Token is not valid'", async () => {
    const forged = await signAppToken("forger-secret-forger-secret-0123456", "demo");
    const result = await authRequest(state(), [forged], services);
    expect(result.emit).toEqual([["auth-reject", { code: "ERR_TOKEN_BAD_SIGNATURE", message: "Token is not valid" }]]);
  });

  it("rejects a token of another app than the connection's", async () => {
    const token = await signAppToken(secret, "other");
    const result = await authRequest(state("demo"), [token], services);
    expect(result.emit).toEqual([["auth-reject", expect.objectContaining({ code: "ERR_TOKEN_WRONG_APP" })]]);
  });
});
