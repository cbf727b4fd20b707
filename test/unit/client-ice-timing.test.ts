import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { IceServerSource } from "../../src/client/ice-servers";
import { isFresh, MIN_REFRESH_MS, refreshAfterMs } from "../../src/client/ice-timing";

describe("TURN credential refresh timing", () => {
  it("refreshes at 80% of a long lifetime, and at least a minute before expiry", () => {
    expect(refreshAfterMs(3600)).toBe(2_880_000);
    // 5 minutes: 80% is 240 s, a minute before expiry is 240 s as well.
    expect(refreshAfterMs(300)).toBe(240_000);
    // 2 minutes: a minute before expiry (60 s) comes before 80% (96 s).
    expect(refreshAfterMs(120)).toBe(60_000);
  });

  it("refreshes short lifetimes at half their life, but never more often than once a second", () => {
    expect(refreshAfterMs(100)).toBe(50_000);
    expect(refreshAfterMs(10)).toBe(5_000);
    expect(refreshAfterMs(1)).toBe(MIN_REFRESH_MS);
    expect(refreshAfterMs(0)).toBe(MIN_REFRESH_MS);
    expect(refreshAfterMs(-5)).toBe(MIN_REFRESH_MS);
  });

  it("calls credentials fresh only before their refresh point", () => {
    expect(isFresh(0, 3600, 2_879_999)).toBe(true);
    expect(isFresh(0, 3600, 2_880_000)).toBe(false);
    expect(isFresh(1_000, 120, 60_999)).toBe(true);
    expect(isFresh(1_000, 120, 61_000)).toBe(false);
  });
});

describe("IceServerSource (GET /ice-servers)", () => {
  const answers: Array<{ ttl: number; credential: string }> = [];
  let fetched = 0;
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    fetched = 0;
    answers.length = 0;
    vi.stubGlobal("fetch", async (url: URL, init: { headers: Record<string, string> }) => {
      expect(url.pathname).toBe("/ice-servers");
      expect(init.headers.Authorization).toBe("Bearer app-token");
      const answer = answers[fetched] ?? answers[answers.length - 1];
      fetched += 1;
      return new Response(
        JSON.stringify({
          status: 200,
          error: null,
          response: {
            iceServers: [{ urls: ["turn:127.0.0.1:3478"], username: "u", credential: answer?.credential }],
            ttl: answer?.ttl,
          },
        }),
      );
    });
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it("fetches again for a call set up after the credentials' refresh point, not before", async () => {
    answers.push({ ttl: 10, credential: "first" }, { ttl: 10, credential: "second" });
    const source = new IceServerSource({ url: "http://127.0.0.1:1", token: "app-token" });
    expect((await source.current())[0]?.credential).toBe("first");
    vi.advanceTimersByTime(4_900);
    expect((await source.current())[0]?.credential).toBe("first");
    expect(fetched).toBe(1);
    vi.advanceTimersByTime(200); // 5.1 s: past half of 10 s
    expect((await source.current())[0]?.credential).toBe("second");
    expect(fetched).toBe(2);
  });

  it("refreshes by itself before expiry while a call watches, and tells it; stops when nobody watches", async () => {
    answers.push({ ttl: 10, credential: "first" }, { ttl: 10, credential: "second" }, { ttl: 10, credential: "third" });
    const source = new IceServerSource({
      url: "http://127.0.0.1:1",
      token: "app-token",
      extra: [{ urls: "stun:local" }],
    });
    await source.current();
    const seen: string[] = [];
    const stop = source.watch((servers) => seen.push(`${servers.length}:${servers[1]?.credential}`));
    await vi.advanceTimersByTimeAsync(5_000);
    expect(seen).toEqual(["2:second"]);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(seen).toEqual(["2:second", "2:third"]);
    stop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(fetched).toBe(3);
  });

  it("turns a refusal into a SignalingError with the server's code", async () => {
    vi.stubGlobal(
      "fetch",
      async () =>
        new Response(
          JSON.stringify({ status: 401, error: { code: "ERR_UNAUTHORIZED", message: "no" }, response: null }),
          {
            status: 401,
          },
        ),
    );
    const source = new IceServerSource({ url: "http://127.0.0.1:1", token: "bad" });
    await expect(source.current()).rejects.toMatchObject({ name: "SignalingError", code: "ERR_UNAUTHORIZED" });
  });
});
