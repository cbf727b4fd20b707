import { describe, expect, it } from "vitest";
import { retryAfter, withFailure } from "../../src/auth/attempt-limit";

const policy = { maxFailures: 3, windowMs: 60_000 };

describe("failed attempt limit", () => {
  it("lets an address try while it has fewer than maxFailures recent failures", () => {
    let failures: number[] = [];
    for (const at of [1_000, 2_000]) failures = withFailure(failures, at, policy);
    expect(retryAfter(failures, 3_000, policy)).toBe(0);
  });

  it("blocks it until the oldest counted failure leaves the window", () => {
    let failures: number[] = [];
    for (const at of [1_000, 2_000, 3_000]) failures = withFailure(failures, at, policy);
    expect(retryAfter(failures, 3_000, policy)).toBe(58_000);
    expect(retryAfter(failures, 60_999, policy)).toBe(1);
    expect(retryAfter(failures, 61_000, policy)).toBe(0);
  });

  it("keeps only what it needs", () => {
    let failures: number[] = [];
    for (let at = 0; at < 100; at++) failures = withFailure(failures, at, policy);
    expect(failures).toEqual([97, 98, 99]);
    expect(withFailure(failures, 200_000, policy)).toEqual([200_000]);
  });
});
