import { describe, expect, it } from "vitest";
import { ANSWERED_REFUSALS, REFUSAL_WINDOW_MS, TokenBucket, type Verdict } from "../../src/socket/rate-limit";

/** Sends `count` frames evenly spread from `from` at `perSecond`; returns their verdicts. */
function stream(bucket: TokenBucket, from: number, perSecond: number, count: number): Verdict[] {
  return Array.from({ length: count }, (_, i) => bucket.take(from + (i * 1000) / perSecond));
}

describe("TokenBucket", () => {
  const limit = { rate: 10, capacity: 5 };

  it("allows a burst of `capacity`, then refuses", () => {
    const bucket = new TokenBucket(limit, 0);
    const verdicts = Array.from({ length: 6 }, () => bucket.take(0));
    expect(verdicts).toEqual(["allow", "allow", "allow", "allow", "allow", "refuse"]);
  });

  it("refills at `rate` per second", () => {
    const bucket = new TokenBucket(limit, 0);
    for (let i = 0; i < 5; i++) bucket.take(0);
    expect(bucket.take(50)).toBe("refuse"); // half a token
    expect(bucket.take(100)).toBe("allow"); // one token after 100 ms at 10/s
  });

  it("never holds more than `capacity`", () => {
    const bucket = new TokenBucket(limit, 0);
    const verdicts = Array.from({ length: 6 }, () => bucket.take(60_000));
    expect(verdicts.filter((v) => v === "allow")).toHaveLength(5);
  });

  it("allows a steady stream at the rate forever", () => {
    const bucket = new TokenBucket(limit, 0);
    for (let t = 0; t < 10_000; t += 100) expect(bucket.take(t)).toBe("allow");
  });

  it("answers the first few refusals of a window, then drops them silently", () => {
    const bucket = new TokenBucket(limit, 0);
    const verdicts = Array.from({ length: 5 + 5 }, () => bucket.take(0)).slice(5);
    expect(verdicts).toEqual([
      ...Array(ANSWERED_REFUSALS).fill("refuse"),
      ...Array(5 - ANSWERED_REFUSALS).fill("drop"),
    ]);
  });

  it("closes a socket that keeps sending into an empty bucket", () => {
    const bucket = new TokenBucket(limit, 0);
    const verdicts = Array.from({ length: 11 }, () => bucket.take(0));
    expect(verdicts.at(-1)).toBe("close");
    expect(verdicts.slice(0, 10)).not.toContain("close");
  });

  it("closes a flood that is slower than the burst but faster than the rate, although frames get through between refusals", () => {
    // 20 frames/s against 10/s: every other frame is allowed, so refusals never come many in a row.
    const bucket = new TokenBucket(limit, 0);
    const verdicts = stream(bucket, 0, 20, 40);
    const closedAt = verdicts.indexOf("close");
    expect(closedAt).toBeGreaterThan(0);
    const beforeClose = verdicts.slice(0, closedAt);
    expect(beforeClose.slice(beforeClose.indexOf("refuse")).filter((v) => v === "allow").length).toBeGreaterThan(2);
  });

  it("never closes a socket that exceeds the rate only a little: its extra frames are refused", () => {
    // 12 frames/s against 10/s: two refusals a second, fewer than `capacity` (50) per window.
    const bucket = new TokenBucket({ rate: 10, capacity: 50 }, 0);
    const verdicts = stream(bucket, 0, 12, 1_200);
    expect(verdicts).not.toContain("close");
    expect(verdicts.filter((v) => v === "refuse" || v === "drop").length).toBeGreaterThan(50);
  });

  it("starts counting afresh in a new window", () => {
    const bucket = new TokenBucket(limit, 0);
    for (let i = 0; i < 5 + 4; i++) bucket.take(0); // 4 refused
    const later = REFUSAL_WINDOW_MS; // the bucket refilled too
    for (let i = 0; i < 5; i++) expect(bucket.take(later)).toBe("allow");
    expect(bucket.take(later)).toBe("refuse");
    expect(bucket.refusedInWindow).toBe(1);
  });
});
