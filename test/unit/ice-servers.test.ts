import { describe, expect, it } from "vitest";
import { ConfigError, readIceSettings } from "../../src/config";
import type { Env } from "../../src/env";
import { iceServersFor, parseUrlList } from "../../src/ice/ice-servers";
import { mintTurnCredential } from "../../src/ice/turn-credentials";

const env = (vars: Partial<Env>) => vars as Env;

describe("mintTurnCredential", () => {
  it("follows the TURN REST API convention (vector computed with openssl dgst -sha1 -hmac)", async () => {
    // echo -n "1700003600:demo" | openssl dgst -sha1 -hmac "turn-shared-secret" -binary | base64
    const minted = await mintTurnCredential("turn-shared-secret", "demo", 3600, new Date(1_700_000_000_000));
    expect(minted).toEqual({ username: "1700003600:demo", credential: "KRaPkKtJDZn6KT2NjyXRLJfPl7Q=" });
  });

  it("changes with the secret and the expiry", async () => {
    const now = new Date(1_700_000_000_000);
    const a = await mintTurnCredential("secret-a", "demo", 60, now);
    expect((await mintTurnCredential("secret-b", "demo", 60, now)).credential).not.toBe(a.credential);
    expect((await mintTurnCredential("secret-a", "demo", 61, now)).username).toBe("1700000061:demo");
  });
});

describe("iceServersFor", () => {
  const none = { stunUrls: [], turnUrls: [], turnSecret: null, turnTtlSeconds: 3600 };

  it("is empty when nothing is configured", async () => {
    expect(await iceServersFor(none, "demo")).toEqual([]);
  });

  it("lists STUN, and TURN with minted credentials", async () => {
    const servers = await iceServersFor(
      {
        stunUrls: ["stun:127.0.0.1:3478"],
        turnUrls: ["turn:127.0.0.1:3478?transport=udp"],
        turnSecret: "turn-shared-secret",
        turnTtlSeconds: 3600,
      },
      "demo",
      new Date(1_700_000_000_000),
    );
    expect(servers).toEqual([
      { urls: ["stun:127.0.0.1:3478"] },
      {
        urls: ["turn:127.0.0.1:3478?transport=udp"],
        username: "1700003600:demo",
        credential: "KRaPkKtJDZn6KT2NjyXRLJfPl7Q=",
      },
    ]);
  });
});

describe("readIceSettings", () => {
  it("reads lists separated by commas or spaces", () => {
    expect(parseUrlList("stun:a:1, stun:b:2  stun:c:3")).toEqual(["stun:a:1", "stun:b:2", "stun:c:3"]);
    expect(
      readIceSettings(env({ STUN_URLS: "stun:a:1", TURN_URLS: "turns:t:5349", TURN_SECRET: "s", TURN_TTL: "600" })),
    ).toEqual({
      stunUrls: ["stun:a:1"],
      turnUrls: ["turns:t:5349"],
      turnSecret: "s",
      turnTtlSeconds: 600,
    });
  });

  it.each([
    ["TURN without a secret", { TURN_URLS: "turn:t:3478" }],
    ["a STUN URL of another scheme", { STUN_URLS: "http://stun" }],
    ["a TURN URL of another scheme", { TURN_URLS: "stun:t", TURN_SECRET: "s" }],
    ["a bad TTL", { TURN_TTL: "soon" }],
  ])("refuses %s", (_label, vars) => {
    expect(() => readIceSettings(env(vars))).toThrow(ConfigError);
  });
});
