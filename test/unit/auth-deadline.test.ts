import { describe, expect, it } from "vitest";
import { authDeadline, authOverdue } from "../../src/socket/auth-deadline";

describe("the auth deadline", () => {
  const timeout = 30_000;

  it("falls `timeout` after the socket opened, until it authenticates", () => {
    expect(authDeadline({ openedAt: 5_000, authenticated: false }, timeout)).toBe(35_000);
    expect(authDeadline({ openedAt: 5_000, authenticated: true }, timeout)).toBeNull();
  });

  it.each([
    [34_999, false],
    [35_000, true],
    [90_000, true],
  ])("at %i ms an unauthenticated socket opened at 5000 is overdue: %s", (now, overdue) => {
    expect(authOverdue({ openedAt: 5_000, authenticated: false }, timeout, now)).toBe(overdue);
  });

  it("is never overdue once authenticated", () => {
    expect(authOverdue({ openedAt: 0, authenticated: true }, timeout, 10 * timeout)).toBe(false);
  });
});
