import { decodeProtectedHeader, jwtVerify, SignJWT } from "jose";
import { describe, expect, it, vi } from "vitest";
import { TokenError, type TokenErrorCode } from "../../src/auth/token-error";
import { signAppToken, signSessionToken, verifyAppToken, verifySessionToken } from "../../src/auth/tokens";

const secret = "unit-test-secret-unit-test-secret-0001";
const otherSecret = "unit-test-secret-unit-test-secret-0002";
// A frozen clock: every time in these tests is derived from this instant.
const t0 = new Date("2026-01-01T00:00:00Z");
const seconds = (n: number) => new Date(t0.getTime() + n * 1000);
const binding = { app: "demo", connection: "conn-1" };

async function codeOf(promise: Promise<unknown>): Promise<TokenErrorCode> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TokenError);
  return (error as TokenError).code;
}

describe("app tokens", () => {
  it("name the app, carry the app type and never expire", async () => {
    const token = await signAppToken(secret, "demo-chat-test", t0);
    expect(decodeProtectedHeader(token)).toEqual({ alg: "HS256", typ: "app+jwt" });
    const { payload } = await jwtVerify(token, new TextEncoder().encode(secret));
    expect(payload.app).toBe("demo-chat-test");
    expect(payload.exp).toBeUndefined();
    await expect(verifyAppToken(secret, token, seconds(10 * 365 * 86_400))).resolves.toEqual({ app: "demo-chat-test" });
  });

  it("that passed once pass again without their HMAC, under the same secret only", async () => {
    const token = await signAppToken(secret, "demo-cached", t0);
    const verify = (key: string) => verifyAppToken(key, token, t0);
    await expect(verify(secret)).resolves.toEqual({ app: "demo-cached" });
    const hmac = vi.spyOn(crypto.subtle, "verify");
    await expect(verify(secret)).resolves.toEqual({ app: "demo-cached" });
    expect(hmac).not.toHaveBeenCalled();
    // A rotated secret: the remembered success does not carry over.
    expect(await codeOf(verify(otherSecret))).toBe("ERR_TOKEN_BAD_SIGNATURE");
    expect(hmac).toHaveBeenCalled();
    hmac.mockRestore();
  });

  it("signed with another secret fail with ERR_TOKEN_BAD_SIGNATURE", async () => {
    const forged = await signAppToken(otherSecret, "demo", t0);
    expect(await codeOf(verifyAppToken(secret, forged, t0))).toBe("ERR_TOKEN_BAD_SIGNATURE");
  });

  it("with a tampered payload fail with ERR_TOKEN_BAD_SIGNATURE", async () => {
    const [header, , signature] = (await signAppToken(secret, "demo", t0)).split(".");
    const payload = btoa(JSON.stringify({ app: "admin" })).replace(/=+$/, "");
    expect(await codeOf(verifyAppToken(secret, `${header}.${payload}.${signature}`, t0))).toBe(
      "ERR_TOKEN_BAD_SIGNATURE",
    );
  });

  it.each([
    ["an empty string", ""],
    ["undefined", undefined],
    ["null", null],
  ])("given %s fail with ERR_TOKEN_MISSING, the handshake's code for a room without a token", async (_label, token) => {
    expect(await codeOf(verifyAppToken(secret, token, t0))).toBe("ERR_TOKEN_MISSING");
  });

  it.each([
    ["a number", 42],
    ["garbage", "not.a.jwt"],
    ["two segments", "abc.def"],
  ])("given %s fail with ERR_TOKEN_MALFORMED", async (_label, token) => {
    expect(await codeOf(verifyAppToken(secret, token, t0))).toBe("ERR_TOKEN_MALFORMED");
  });

  it("refuse alg none", async () => {
    const header = btoa(JSON.stringify({ alg: "none", typ: "app+jwt" })).replace(/=+$/, "");
    const payload = btoa(JSON.stringify({ app: "demo" })).replace(/=+$/, "");
    expect(await codeOf(verifyAppToken(secret, `${header}.${payload}.`, t0))).toBe("ERR_TOKEN_MALFORMED");
  });

  it("without an app claim fail with ERR_TOKEN_MALFORMED", async () => {
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256", typ: "app+jwt" })
      .sign(new TextEncoder().encode(secret));
    expect(await codeOf(verifyAppToken(secret, token, t0))).toBe("ERR_TOKEN_MALFORMED");
  });

  it("are not session tokens (ERR_TOKEN_WRONG_TYPE)", async () => {
    const appToken = await signAppToken(secret, "demo", t0);
    expect(await codeOf(verifySessionToken(secret, appToken, binding, t0))).toBe("ERR_TOKEN_WRONG_TYPE");
  });
});

describe("session tokens", () => {
  const lifetimeSeconds = 3600;
  const sign = (now = t0) => signSessionToken(secret, { ...binding, lifetimeSeconds }, now);

  it("verify for their app and connection within their lifetime", async () => {
    const token = await sign();
    const claims = await verifySessionToken(secret, token, binding, seconds(lifetimeSeconds - 1));
    expect(claims).toEqual({ app: "demo", connection: "conn-1", exp: t0.getTime() / 1000 + lifetimeSeconds });
    expect(decodeProtectedHeader(token).typ).toBe("session+jwt");
  });

  it("expire exactly at the end of their lifetime (ERR_TOKEN_EXPIRED)", async () => {
    const token = await sign();
    expect(await codeOf(verifySessionToken(secret, token, binding, seconds(lifetimeSeconds)))).toBe(
      "ERR_TOKEN_EXPIRED",
    );
  });

  it("issued to another app fail with ERR_TOKEN_WRONG_APP", async () => {
    const token = await sign();
    expect(await codeOf(verifySessionToken(secret, token, { ...binding, app: "other" }, t0))).toBe(
      "ERR_TOKEN_WRONG_APP",
    );
  });

  it("issued to another connection fail with ERR_TOKEN_WRONG_CONNECTION", async () => {
    const token = await sign();
    expect(await codeOf(verifySessionToken(secret, token, { ...binding, connection: "conn-2" }, t0))).toBe(
      "ERR_TOKEN_WRONG_CONNECTION",
    );
  });

  it("forged with another secret fail with ERR_TOKEN_BAD_SIGNATURE even when expired", async () => {
    const forged = await signSessionToken(otherSecret, { ...binding, lifetimeSeconds }, t0);
    expect(await codeOf(verifySessionToken(secret, forged, binding, seconds(2 * lifetimeSeconds)))).toBe(
      "ERR_TOKEN_BAD_SIGNATURE",
    );
  });

  it("are not app tokens (ERR_TOKEN_WRONG_TYPE)", async () => {
    expect(await codeOf(verifyAppToken(secret, await sign(), t0))).toBe("ERR_TOKEN_WRONG_TYPE");
  });

  it("without exp are refused", async () => {
    const token = await new SignJWT({ app: "demo", cid: "conn-1" })
      .setProtectedHeader({ alg: "HS256", typ: "session+jwt" })
      .sign(new TextEncoder().encode(secret));
    expect(await codeOf(verifySessionToken(secret, token, binding, t0))).toBe("ERR_TOKEN_MALFORMED");
  });
});

describe("the token-misuse matrix", () => {
  const binding = { app: "demo", connection: "conn-1" };
  const now = t0;
  const session = (claims = { app: "demo", cid: "conn-1" }) =>
    new SignJWT(claims).setIssuedAt(now).setExpirationTime(Math.floor(now.getTime() / 1000) + 60);

  it("refuses RS256 (RS/HS confusion) with ERR_TOKEN_MALFORMED", async () => {
    const { generateKeyPair } = await import("jose");
    const { privateKey } = await generateKeyPair("RS256");
    const token = await session().setProtectedHeader({ alg: "RS256", typ: "session+jwt" }).sign(privateKey);
    expect(await codeOf(verifySessionToken(secret, token, binding, now))).toBe("ERR_TOKEN_MALFORMED");
  });

  it("refuses HS512 under the right secret with ERR_TOKEN_MALFORMED", async () => {
    const token = await session()
      .setProtectedHeader({ alg: "HS512", typ: "session+jwt" })
      .sign(new TextEncoder().encode(secret.repeat(2)));
    expect(await codeOf(verifySessionToken(secret, token, binding, now))).toBe("ERR_TOKEN_MALFORMED");
  });

  it("refuses alg none as a session token", async () => {
    const header = btoa(JSON.stringify({ alg: "none", typ: "session+jwt" })).replace(/=+$/, "");
    const payload = btoa(JSON.stringify({ app: "demo", cid: "conn-1", exp: 4102444800 })).replace(/=+$/, "");
    expect(await codeOf(verifySessionToken(secret, `${header}.${payload}.`, binding, now))).toBe("ERR_TOKEN_MALFORMED");
  });

  it("refuses a session token without typ (an untyped JWT)", async () => {
    const token = await session().setProtectedHeader({ alg: "HS256" }).sign(new TextEncoder().encode(secret));
    expect(await codeOf(verifySessionToken(secret, token, binding, now))).toBe("ERR_TOKEN_WRONG_TYPE");
  });
});
