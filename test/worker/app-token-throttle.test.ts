import { env, runInDurableObject, SELF } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { GLOBAL_THROTTLE } from "../../src/http/app-token-route";
import worker from "../../src/worker";

const password = "demo-chat-password";

function appRequest(address: string | null, guess: string): Request {
  const headers = new Headers({ "content-type": "application/json" });
  if (address !== null) headers.set("cf-connecting-ip", address);
  return new Request("https://edge.test/app", {
    method: "POST",
    headers,
    body: JSON.stringify({ app: "demo", password: guess }),
  });
}

function postApp(address: string | null, guess: string) {
  return SELF.fetch(appRequest(address, guess));
}

/** Statuses of `count` guesses sent all at once; bodies are read so no response is left dangling. */
async function parallelStatuses(count: number, send: (i: number) => Promise<Response>): Promise<number[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const res = await send(i);
      await res.arrayBuffer();
      return res.status;
    }),
  );
}

const countOf = (statuses: number[], status: number) => statuses.filter((s) => s === status).length;

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
    expect((await postApp(address, password)).status).toBe(429);
  });

  it("checks at most 10 passwords of 50 parallel wrong guesses from one address; the rest get 429", async () => {
    const statuses = await parallelStatuses(50, (i) => postApp("203.0.113.20", `guess-${i}`));
    expect(countOf(statuses, 401)).toBe(10);
    expect(countOf(statuses, 429)).toBe(40);
  });

  it("does not punish other addresses", async () => {
    for (let i = 0; i < 10; i++) await postApp("203.0.113.8", `guess-${i}`);
    expect((await postApp("203.0.113.9", password)).status).toBe(200);
  });

  it("starts an address afresh after a correct password", async () => {
    const address = "203.0.113.10";
    for (let i = 0; i < 9; i++) await postApp(address, `guess-${i}`);
    expect((await postApp(address, password)).status).toBe(200);
    for (let i = 0; i < 9; i++) expect((await postApp(address, `again-${i}`)).status).toBe(401);
  });

  it("counts every IPv6 address of one /64 together, and another /64 apart", async () => {
    for (let i = 1; i <= 10; i++) expect((await postApp(`2001:db8:a:1::${i.toString(16)}`, "guess")).status).toBe(401);
    expect((await postApp("2001:DB8:A:1:FFFF:1:2:3", "guess")).status).toBe(429);
    expect((await postApp("2001:db8:a:2::1", "guess")).status).toBe(401);
  });

  it("counts an IPv4-mapped IPv6 address as its IPv4 address", async () => {
    for (let i = 0; i < 10; i++) expect((await postApp("203.0.113.30", `guess-${i}`)).status).toBe(401);
    expect((await postApp("::ffff:203.0.113.30", "guess")).status).toBe(429);
  });

  it("counts requests without a usable CF-Connecting-IP under one shared key", async () => {
    for (let i = 0; i < 10; i++) expect((await postApp(`not-an-address-${i}`, "guess")).status).toBe(401);
    expect((await postApp(null, "guess")).status).toBe(429);
  });
});

describe("the throttle object", () => {
  it("grants exactly maxFailures of 50 concurrent reservations and tells the rest how long to wait", async () => {
    const throttle = env.APP_TOKEN_THROTTLE.get(env.APP_TOKEN_THROTTLE.idFromName("reserve-race"));
    const policy = { maxFailures: 10, windowMs: 60_000 };
    const permits = await Promise.all(Array.from({ length: 50 }, () => throttle.reserve(policy)));
    expect(permits.filter((p) => p.granted)).toHaveLength(10);
    for (const permit of permits) if (!permit.granted) expect(permit.retryAfterMs).toBeGreaterThan(0);
  });

  it("gives a released reservation back", async () => {
    const throttle = env.APP_TOKEN_THROTTLE.get(env.APP_TOKEN_THROTTLE.idFromName("reserve-release"));
    const policy = { maxFailures: 1, windowMs: 60_000 };
    const permit = await throttle.reserve(policy);
    expect(permit.granted).toBe(true);
    expect((await throttle.reserve(policy)).granted).toBe(false);
    if (permit.granted) await throttle.release(permit.at);
    expect((await throttle.reserve(policy)).granted).toBe(true);
  });
});

describe("the global ceiling (APP_AUTH_GLOBAL_MAX_FAILURES)", () => {
  const globalThrottle = () => env.APP_TOKEN_THROTTLE.get(env.APP_TOKEN_THROTTLE.idFromName(GLOBAL_THROTTLE));
  const forgetAll = () => runInDurableObject(globalThrottle(), (_throttle, state) => state.storage.deleteAll());
  const smallCeiling = { ...env, APP_AUTH_GLOBAL_MAX_FAILURES: "5" };
  const postUnderSmallCeiling = async (address: string, guess: string) =>
    worker.fetch(appRequest(address, guess), smallCeiling);

  // Other tests of this file count failures in the same global object: start each of these from none.
  beforeEach(forgetAll);
  afterEach(forgetAll);

  it("checks at most that many passwords across addresses, then refuses every address, the right password too", async () => {
    const statuses = await parallelStatuses(20, (i) => postUnderSmallCeiling(`198.51.100.${i + 1}`, "guess"));
    expect(countOf(statuses, 401)).toBe(5);
    expect(countOf(statuses, 429)).toBe(15);

    const refused = await postUnderSmallCeiling("198.51.100.200", password);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(500);
    expect(await refused.json()).toMatchObject({ status: 429, error: { code: "ERR_TOO_MANY_ATTEMPTS" } });
    // The refusal was the small ceiling's: under the default of 1000 the same address gets through.
    expect((await postApp("198.51.100.200", password)).status).toBe(200);
  });

  it("gets back the attempts whose password was right, so correct logins never fill it", async () => {
    for (let i = 1; i <= 4; i++) expect((await postUnderSmallCeiling(`198.51.100.${i}`, "guess")).status).toBe(401);
    for (let i = 0; i < 5; i++) expect((await postUnderSmallCeiling("198.51.100.50", password)).status).toBe(200);
    expect((await postUnderSmallCeiling("198.51.100.51", "guess")).status).toBe(401);
    expect((await postUnderSmallCeiling("198.51.100.52", "guess")).status).toBe(429);
  });

  it("does not count an attempt it refuses against the address", async () => {
    for (let i = 1; i <= 5; i++) await postUnderSmallCeiling(`198.51.100.${i}`, "guess");
    const address = "198.51.100.201";
    for (let i = 0; i < 5; i++) expect((await postUnderSmallCeiling(address, "guess")).status).toBe(429);
    for (let i = 0; i < 10; i++) expect((await postApp(address, `guess-${i}`)).status).toBe(401);
    expect((await postApp(address, "guess")).status).toBe(429);
  });
});
