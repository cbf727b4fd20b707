import { env, SELF } from "cloudflare:test";
import { base64url, decodeJwt, decodeProtectedHeader, jwtVerify, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { verifyAppToken } from "../../src/auth/tokens";
import worker from "../../src/worker";

// The local-only secrets of .dev.vars, which the test runtime loads like `wrangler dev` does.
const password = "demo-chat-password";
const secret = env.TOKEN_SECRET as string;

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

function postApp(body: BodyInit, contentType = "application/x-www-form-urlencoded") {
  return SELF.fetch("https://edge.test/app", { method: "POST", headers: { "content-type": contentType }, body });
}

interface Envelope {
  status: number;
  error: { code: string; message: string } | null;
  response: { token: string } | null;
}

async function expectError(res: Response, status: number, code: string): Promise<Envelope> {
  const body = (await res.json()) as Envelope;
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  expect(body).toMatchObject({ status, response: null, error: { code } });
  expect(body.error?.message).toEqual(expect.any(String));
  return body;
}

describe("GET /health", () => {
  it("answers 200 with a small JSON body", async () => {
    const res = await SELF.fetch("https://edge.test/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok", service: "edge-signaling" });
  });

  it("answers other methods with 405 and Allow", async () => {
    const res = await SELF.fetch("https://edge.test/health", { method: "DELETE" });
    await expectError(res, 405, "ERR_METHOD_NOT_ALLOWED");
    expect(res.headers.get("allow")).toBe("GET, HEAD");
  });
});

describe("POST /app", () => {
  it("issues an app token for a form body, as in the original README's curl example", async () => {
    const res = await postApp(form({ app: "demo-chat-test", password }));
    expect(res.status).toBe(200);
    const body = (await res.json()) as Envelope;
    expect(body).toEqual({ status: 200, error: null, response: { token: expect.any(String) } });
    const token = body.response?.token as string;
    const { payload } = await jwtVerify(token, new TextEncoder().encode(secret), { algorithms: ["HS256"] });
    expect(payload.app).toBe("demo-chat-test");
    expect(payload.exp).toBeUndefined();
    expect(decodeProtectedHeader(token).typ).toBe("app+jwt");
  });

  it("issues an app token for a JSON body", async () => {
    const res = await postApp(JSON.stringify({ app: "mobile", password }), "application/json");
    const body = (await res.json()) as Envelope;
    expect(res.status).toBe(200);
    await expect(verifyAppToken(secret, body.response?.token)).resolves.toEqual({ app: "mobile" });
  });

  it("issues an app token for a multipart form", async () => {
    const data = new FormData();
    data.set("app", "multi");
    data.set("password", password);
    const res = await SELF.fetch("https://edge.test/app", { method: "POST", body: data });
    const body = (await res.json()) as Envelope;
    expect(res.status).toBe(200);
    await expect(verifyAppToken(secret, body.response?.token)).resolves.toEqual({ app: "multi" });
  });

  it("answers a wrong password with 401 and no token", async () => {
    await expectError(await postApp(form({ app: "demo", password: "guess" })), 401, "ERR_WRONG_PASSWORD");
  });

  it.each([
    ["no app", { password }],
    ["no password", { app: "demo" }],
    ["an empty app", { app: "", password }],
    ["nothing", {}],
  ])("answers a form with %s with 400 ERR_MISSING_FIELD", async (_label, fields) => {
    await expectError(await postApp(form(fields)), 400, "ERR_MISSING_FIELD");
  });

  it.each([
    ["a number password", { app: "demo", password: 42 }, "ERR_MISSING_FIELD"],
    ["an object app", { app: { name: "demo" }, password }, "ERR_INVALID_APP_NAME"],
    ["an app with a slash", { app: "a/b", password }, "ERR_INVALID_APP_NAME"],
    ["a 65-character app", { app: "x".repeat(65), password }, "ERR_INVALID_APP_NAME"],
  ])("answers JSON with %s with 400", async (_label, fields, code) => {
    await expectError(await postApp(JSON.stringify(fields), "application/json"), 400, code);
  });

  it("checks the app name before the password, so a bad name never costs a guess", async () => {
    await expectError(await postApp(form({ app: "bad name", password: "guess" })), 400, "ERR_INVALID_APP_NAME");
  });

  it.each([
    ["broken JSON", "{ app: ", "application/json"],
    ["a JSON array", '["demo"]', "application/json"],
  ])("answers %s with 400 ERR_INVALID_BODY", async (_label, body, type) => {
    await expectError(await postApp(body, type), 400, "ERR_INVALID_BODY");
  });

  it("answers an unknown content type with 415", async () => {
    await expectError(await postApp("app=demo", "text/plain"), 415, "ERR_UNSUPPORTED_MEDIA_TYPE");
  });

  it("answers an oversized body with 413", async () => {
    await expectError(await postApp(form({ app: "demo", password: "x".repeat(10_000) })), 413, "ERR_BODY_TOO_LARGE");
  });

  it("answers GET with 405 and Allow: POST", async () => {
    const res = await SELF.fetch("https://edge.test/app");
    await expectError(res, 405, "ERR_METHOD_NOT_ALLOWED");
    expect(res.headers.get("allow")).toBe("POST");
  });

  it("issues tokens that a forger cannot imitate, by signing anew or by changing the claims", async () => {
    const res = await postApp(form({ app: "demo", password }));
    const issued = ((await res.json()) as Envelope).response?.token as string;
    await expect(verifyAppToken(secret, issued)).resolves.toMatchObject({ app: "demo" });
    const [header, , signature] = issued.split(".");
    const claims = decodeJwt(issued);
    const forged = await new SignJWT(claims)
      .setProtectedHeader(decodeProtectedHeader(issued) as { alg: string })
      .sign(new TextEncoder().encode("a-forger-does-not-know-the-secret!!"));
    const tampered = `${header}.${base64url.encode(JSON.stringify({ ...claims, app: "other" }))}.${signature}`;
    for (const token of [forged, tampered]) {
      await expect(verifyAppToken(secret, token)).rejects.toMatchObject({ code: "ERR_TOKEN_BAD_SIGNATURE" });
      const upgrade = await SELF.fetch(
        `https://edge.test/socket.io/?EIO=4&transport=websocket&app=${decodeJwt(token).app}&room=forged&token=${token}`,
        { headers: { Upgrade: "websocket" } },
      );
      expect(upgrade.status).toBe(401);
      expect(await upgrade.json()).toMatchObject({ reason: "ERR_TOKEN_BAD_SIGNATURE" });
    }
  });
});

describe("without secrets (a deployment that forgot `wrangler secret put`)", () => {
  const request = () =>
    new Request("https://edge.test/app", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: form({ app: "demo", password }),
    });

  it.each([
    ["BACKEND_PASSWORD", { ...env, BACKEND_PASSWORD: undefined }],
    ["TOKEN_SECRET", { ...env, TOKEN_SECRET: undefined }],
  ])("refuses to issue tokens without %s, with a 500 envelope", async (name, vars) => {
    const res = await worker.fetch(request(), vars);
    const body = await expectError(res, 500, "ERR_NOT_CONFIGURED");
    expect(body.error?.message).toContain(name);
  });
});

describe("unknown routes", () => {
  it("answer 404 with the envelope", async () => {
    await expectError(await SELF.fetch("https://edge.test/nope"), 404, "ERR_NOT_FOUND");
  });
});
