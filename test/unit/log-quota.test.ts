import { describe, expect, it } from "vitest";
import { LogQuota } from "../../src/socket/log-quota";

describe("LogQuota", () => {
  it("lets `perWindow` lines through per window and counts the rest", () => {
    const quota = new LogQuota(3, 1_000);
    expect(Array.from({ length: 5 }, () => quota.take(0))).toEqual([true, true, true, false, false]);
    expect(quota.held).toBe(2);
  });

  it("opens again in the next window", () => {
    const quota = new LogQuota(1, 1_000);
    expect(quota.take(0)).toBe(true);
    expect(quota.take(999)).toBe(false);
    expect(quota.take(1_000)).toBe(true);
  });
});
