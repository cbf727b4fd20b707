import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";

function postApp(address: string, password: string) {
  return SELF.fetch("https://edge.test/app", {
    method: "POST",
    headers: { "content-type": "application/json", "cf-connecting-ip": address },
    body: JSON.stringify({ app: "demo", password }),
  });
}

describe("POST /app against password guessing", () => {
  it("answers 429 with Retry-After after 10 failures from one address, even for the right password", async () => {
    const address = "203.0.113.7";
    for (let i = 0; i < 10; i++) expect((await postApp(address, `guess-${i}`)).status).toBe(401);
    const blocked = await postApp(address, "guess-11");
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(500);
    expect(await blocked.json()).toMatchObject({
      status: 429,
      error: { code: "ERR_TOO_MANY_ATTEMPTS" },
      response: null,
    });
    expect((await postApp(address, "demo-chat-password")).status).toBe(429);
  });

  it("does not punish other addresses", async () => {
    for (let i = 0; i < 10; i++) await postApp("203.0.113.8", `guess-${i}`);
    expect((await postApp("203.0.113.9", "demo-chat-password")).status).toBe(200);
  });

  it("starts an address afresh after a correct password", async () => {
    const address = "203.0.113.10";
    for (let i = 0; i < 9; i++) await postApp(address, `guess-${i}`);
    expect((await postApp(address, "demo-chat-password")).status).toBe(200);
    for (let i = 0; i < 9; i++) expect((await postApp(address, `again-${i}`)).status).toBe(401);
  });
});
