import { describe, expect, it } from "vitest";
import { missedPong } from "../../src/socket/heartbeat";

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
