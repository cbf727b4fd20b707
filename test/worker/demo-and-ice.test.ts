import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { signAppToken, signSessionToken, verifyAppToken } from "../../src/auth/tokens";
import worker from "../../src/worker";

const secret = env.TOKEN_SECRET as string;
const ice = (headers: Record<string, string> = {}) => SELF.fetch("https://edge.test/ice-servers", { headers });

describe("GET /ice-servers", () => {
  it("answers an app token with the configured servers (none locally)", async () => {
    const res = await ice({ Authorization: `Bearer ${await signAppToken(secret, "demo")}` });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(await res.json()).toEqual({ status: 200, error: null, response: { iceServers: [], ttl: 3600 } });
  });

  it("answers a session token too", async () => {
    const token = await signSessionToken(secret, { app: "demo", connection: "c1", lifetimeSeconds: 60 });
    expect((await ice({ Authorization: `Bearer ${token}` })).status).toBe(200);
  });

  it("mints TURN credentials for the token's app when TURN is configured", async () => {
    const vars = {
      ...env,
      STUN_URLS: "stun:127.0.0.1:3478",
      TURN_URLS: "turn:127.0.0.1:3478",
      TURN_SECRET: "turn-shared-secret",
      TURN_TTL: "600",
    };
    const request = new Request("https://edge.test/ice-servers", {
      headers: { Authorization: `Bearer ${await signAppToken(secret, "tenant-a")}` },
    });
    const body = (await (await worker.fetch(request, vars)).json()) as {
      response: { iceServers: unknown[]; ttl: number };
    };
    expect(body.response.ttl).toBe(600);
    expect(body.response.iceServers).toEqual([
      { urls: ["stun:127.0.0.1:3478"] },
      {
        urls: ["turn:127.0.0.1:3478"],
        username: expect.stringMatching(/^\d+:tenant-a$/),
        credential: expect.any(String),
      },
    ]);
  });

  it.each([
    ["no Authorization header", {}],
    ["a Basic header", { Authorization: "Basic dTpw" }],
    ["a forged token", { Authorization: "Bearer eyJhbGciOiJIUzI1NiJ9.eyJhcHAiOiJkZW1vIn0.AAAA" }],
    ["garbage", { Authorization: "Bearer not-a-token" }],
  ])("refuses %s with 401 ERR_UNAUTHORIZED", async (_label, headers) => {
    const res = await ice(headers);
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect(await res.json()).toMatchObject({ status: 401, error: { code: "ERR_UNAUTHORIZED" }, response: null });
  });

  it("refuses an expired session token", async () => {
    const old = await signSessionToken(
      secret,
      { app: "demo", connection: "c1", lifetimeSeconds: 60 },
      new Date(Date.now() - 120_000),
    );
    expect((await ice({ Authorization: `Bearer ${old}` })).status).toBe(401);
  });
});

describe("the demo", () => {
  it("serves the page at /demo", async () => {
    const res = await SELF.fetch("https://edge.test/demo");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain("/scripts/demo.js");
  });

  it("serves the socket.io-client browser build from npm", async () => {
    const res = await SELF.fetch("https://edge.test/vendor/socket.io.min.js");
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("Socket.IO");
  });

  it("hands out tokens of the demo app when DEMO_APP is set (as in local runs)", async () => {
    const res = await SELF.fetch("https://edge.test/demo/token");
    const body = (await res.json()) as { response: { app: string; token: string } };
    expect(res.status).toBe(200);
    expect(body.response.app).toBe("demo");
    await expect(verifyAppToken(secret, body.response.token)).resolves.toEqual({ app: "demo" });
  });

  it("hands out nothing when DEMO_APP is unset (the production default)", async () => {
    const res = await worker.fetch(new Request("https://edge.test/demo/token"), { ...env, DEMO_APP: undefined });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: "ERR_DEMO_DISABLED" } });
  });
});
