import { describe, expect, it } from "vitest";
import {
  ConfigError,
  DEFAULT_TOKEN_LIFETIME_SECONDS,
  parseTokenLifetime,
  readSocketConfig,
  readTokenConfig,
} from "../../src/config";
import type { Env } from "../../src/env";

const secret = "s".repeat(32);
const env = (vars: Partial<Env>) => vars as Env;

describe("readTokenConfig", () => {
  it("reads the secrets and the default lifetime", () => {
    expect(readTokenConfig(env({ BACKEND_PASSWORD: "pw", TOKEN_SECRET: secret }))).toEqual({
      backendPassword: "pw",
      tokenSecret: secret,
      tokenLifetimeSeconds: DEFAULT_TOKEN_LIFETIME_SECONDS,
    });
  });

  it.each([
    ["no BACKEND_PASSWORD", { TOKEN_SECRET: secret }, /BACKEND_PASSWORD/],
    ["no TOKEN_SECRET", { BACKEND_PASSWORD: "pw" }, /TOKEN_SECRET is not set/],
    ["a short TOKEN_SECRET", { BACKEND_PASSWORD: "pw", TOKEN_SECRET: "short" }, /at least 32/],
    ["a bad TOKEN_LIFETIME", { BACKEND_PASSWORD: "pw", TOKEN_SECRET: secret, TOKEN_LIFETIME: "1h" }, /TOKEN_LIFETIME/],
  ])("refuses %s with a ConfigError", (_label, vars, message) => {
    expect(() => readTokenConfig(env(vars))).toThrow(ConfigError);
    expect(() => readTokenConfig(env(vars))).toThrow(message);
  });
});

describe("parseTokenLifetime", () => {
  it.each([
    [undefined, 86_400],
    ["", 86_400],
    ["60", 60],
    [" 3600 ", 3600],
  ])("parses %j as %d", (raw, seconds) => {
    expect(parseTokenLifetime(raw)).toBe(seconds);
  });

  it.each(["0", "-5", "1.5", "abc", "1e400"])("refuses %j", (raw) => {
    expect(() => parseTokenLifetime(raw)).toThrow(ConfigError);
  });
});

describe("readSocketConfig", () => {
  it("reads frames up to Socket.IO's own maxHttpBufferSize (1e6 bytes) by default", () => {
    expect(readSocketConfig(env({})).maxFrameBytes).toBe(1_000_000);
  });
});
