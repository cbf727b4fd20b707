import { jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevServer, startDevServer } from "../support/wrangler-dev";

// The local-only secrets from .dev.vars, which `wrangler dev` reads.
const LOCAL_TOKEN_SECRET = "local-only-token-secret-do-not-deploy-0123456789";

describe("wrangler dev over real HTTP", () => {
  let server: DevServer;

  beforeAll(async () => {
    server = await startDevServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("answers /health", async () => {
    const res = await fetch(`${server.url}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "ok" });
  });

  it("issues an app token for the original README's curl request", async () => {
    const res = await fetch(`${server.url}/app`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ app: "demo-chat-test", password: "demo-chat-password" }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { response: { token: string } };
    const { payload } = await jwtVerify(body.response.token, new TextEncoder().encode(LOCAL_TOKEN_SECRET));
    expect(payload.app).toBe("demo-chat-test");
  });

  it("refuses a wrong password with 401", async () => {
    const res = await fetch(`${server.url}/app`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ app: "demo-chat-test", password: "nope" }),
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ status: 401, error: { code: "ERR_WRONG_PASSWORD" }, response: null });
  });
});
