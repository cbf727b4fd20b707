import { describe, expect, it } from "vitest";
import { type Permit, releaseAttempt, reserveAttempt, retryAfter } from "../../src/auth/attempt-limit";

const policy = { maxFailures: 3, windowMs: 60_000 };

/** Reserves at each time in turn (time is given, never slept on); returns the permits and the final state. */
function reserveAt(times: number[], start: number[] = []): { permits: Permit[]; failures: number[] } {
  let failures = start;
  const permits = times.map((now) => {
    const result = reserveAttempt(failures, now, policy);
    failures = result.failures;
    return result.permit;
  });
  return { permits, failures };
}

describe("failed attempt limit", () => {
  it("grants maxFailures reservations and counts each as a failure at once", () => {
    const { permits, failures } = reserveAt([1_000, 2_000, 3_000]);
    expect(permits).toEqual([
      { granted: true, at: 1_000 },
      { granted: true, at: 2_000 },
      { granted: true, at: 3_000 },
    ]);
    expect(failures).toEqual([1_000, 2_000, 3_000]);
  });

  it("refuses the next one, even at the same instant, until the oldest counted failure leaves the window", () => {
    const { failures } = reserveAt([1_000, 2_000, 3_000]);
    expect(reserveAttempt(failures, 3_000, policy).permit).toEqual({ granted: false, retryAfterMs: 58_000 });
    expect(reserveAttempt(failures, 60_999, policy).permit).toEqual({ granted: false, retryAfterMs: 1 });
    expect(reserveAttempt(failures, 61_000, policy).permit).toEqual({ granted: true, at: 61_000 });
  });

  it("does not record a refused reservation", () => {
    const { failures } = reserveAt([1_000, 2_000, 3_000]);
    const refused = reserveAt([4_000, 5_000, 6_000], failures);
    expect(refused.permits.every((p) => !p.granted)).toBe(true);
    expect(refused.failures).toEqual([1_000, 2_000, 3_000]);
  });

  it("frees a slot when a granted reservation is released", () => {
    const { failures } = reserveAt([1_000, 2_000, 3_000]);
    const released = releaseAttempt(failures, 2_000);
    expect(released).toEqual([1_000, 3_000]);
    expect(reserveAttempt(released, 3_000, policy).permit).toEqual({ granted: true, at: 3_000 });
  });

  it("releases one of two reservations made in the same millisecond, and ignores an unknown one", () => {
    expect(releaseAttempt([5, 5], 5)).toEqual([5]);
    expect(releaseAttempt([5, 6], 7)).toEqual([5, 6]);
  });

  it("keeps only the failures inside the window", () => {
    const { failures } = reserveAt([0, 1, 2]);
    expect(reserveAttempt(failures, 200_000, policy).failures).toEqual([200_000]);
  });

  it("tells how long to wait from a list of failures", () => {
    expect(retryAfter([1_000, 2_000], 3_000, policy)).toBe(0);
    expect(retryAfter([1_000, 2_000, 3_000], 3_000, policy)).toBe(58_000);
  });
});
