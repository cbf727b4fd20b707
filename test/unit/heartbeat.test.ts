import { describe, expect, it } from "vitest";
import { heartbeatDue, judgeSocket, missedPong } from "../../src/socket/heartbeat";

describe("missedPong", () => {
  const ping = 10_000;
  it.each([
    ["no ping sent yet", { openedAt: 0, lastPongAt: null }, null, false],
    ["opened after the ping", { openedAt: ping + 1, lastPongAt: null }, ping, false],
    ["opened at the ping", { openedAt: ping, lastPongAt: null }, ping, false],
    ["answered after the ping", { openedAt: 0, lastPongAt: ping + 5 }, ping, false],
    ["answered in the same millisecond", { openedAt: 0, lastPongAt: ping }, ping, false],
    ["never answered", { openedAt: 0, lastPongAt: null }, ping, true],
    ["answered only an earlier ping", { openedAt: 0, lastPongAt: ping - 1 }, ping, true],
  ])("%s", (_label, socket, lastPingAt, missed) => {
    expect(missedPong(socket, lastPingAt)).toBe(missed);
  });
});

describe("heartbeatDue", () => {
  it.each([
    ["never pinged", null, 5_000, true],
    ["an early alarm right after a ping", 1_000, 5_000, false],
    ["just before pingTimeout has passed", 1_000, 30_999, false],
    ["once pingTimeout has passed", 1_000, 31_000, true],
    ["at the regular interval", 1_000, 61_000, true],
  ])("%s", (_label, lastPingAt, now, due) => {
    expect(heartbeatDue(lastPingAt, now, 30_000)).toBe(due);
  });
});

describe("judgeSocket", () => {
  const at = { now: 70_000, lastPingAt: 10_000, pingDue: true, authTimeout: 30_000 };
  it.each([
    [
      "never authenticated, past its deadline",
      { openedAt: 0, authenticated: false, lastPongAt: 10_001 },
      at,
      "close-auth-timeout",
    ],
    ["authenticated, answered the last ping", { openedAt: 0, authenticated: true, lastPongAt: 10_001 }, at, "ping"],
    [
      "authenticated, missed the last ping",
      { openedAt: 0, authenticated: true, lastPongAt: 9_000 },
      at,
      "close-ping-timeout",
    ],
    [
      "missed the ping, but the alarm is early",
      { openedAt: 0, authenticated: true, lastPongAt: 9_000 },
      { ...at, pingDue: false },
      "keep",
    ],
    [
      "new, before its deadline, at an early alarm",
      { openedAt: 60_000, authenticated: false, lastPongAt: null },
      { ...at, pingDue: false },
      "keep",
    ],
    [
      "past its deadline, even at an early alarm",
      { openedAt: 0, authenticated: false, lastPongAt: null },
      { ...at, pingDue: false },
      "close-auth-timeout",
    ],
  ] as const)("%s: %s", (_label, socket, when, verdict) => {
    expect(judgeSocket(socket, when)).toBe(verdict);
  });
});
