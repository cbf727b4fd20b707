import { describe, expect, it } from "vitest";
import { TokenBucket } from "../../src/socket/rate-limit";

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

  it("closes a socket that keeps sending into an empty bucket", () => {
    const bucket = new TokenBucket(limit, 0);
    const verdicts = Array.from({ length: 10 }, () => bucket.take(0));
    expect(verdicts.slice(5)).toEqual(["refuse", "refuse", "refuse", "refuse", "close"]);
  });

  it("forgives refusals once a frame gets through again", () => {
    const bucket = new TokenBucket(limit, 0);
    for (let i = 0; i < 8; i++) bucket.take(0); // 3 refused
    expect(bucket.take(100)).toBe("allow");
    for (let i = 0; i < 4; i++) expect(bucket.take(100)).toBe("refuse");
    expect(bucket.take(100)).toBe("close");
  });
});
