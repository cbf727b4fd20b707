import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { IceWatchdog } from "../../src/client/ice-watchdog";

describe("IceWatchdog: when ICE is restarted", () => {
  let restarts = 0;
  let watchdog: IceWatchdog;
  beforeEach(() => {
    vi.useFakeTimers();
    restarts = 0;
    watchdog = new IceWatchdog({
      restart: () => restarts++,
      disconnectedGraceMs: 3_000,
      retryAfterMs: 8_000,
      maxRetryAfterMs: 20_000,
    });
  });
  afterEach(() => vi.useRealTimers());

  it("restarts at once when ICE fails", () => {
    watchdog.update("connected");
    watchdog.update("failed");
    expect(restarts).toBe(1);
  });

  it("leaves a short disconnection alone, and restarts one that lasts past the grace", () => {
    watchdog.update("connected");
    watchdog.update("disconnected");
    vi.advanceTimersByTime(2_900);
    watchdog.update("connected");
    vi.advanceTimersByTime(10_000);
    expect(restarts).toBe(0);
    watchdog.update("disconnected");
    vi.advanceTimersByTime(3_000);
    expect(restarts).toBe(1);
  });

  it("restarts again, waiting twice as long each time up to the cap, while ICE does not come back", () => {
    watchdog.update("failed");
    expect(restarts).toBe(1);
    watchdog.update("checking");
    watchdog.update("failed"); // failing again before the retry is due: no hurry
    expect(restarts).toBe(1);
    vi.advanceTimersByTime(8_000);
    expect(restarts).toBe(2);
    vi.advanceTimersByTime(15_999);
    expect(restarts).toBe(2);
    vi.advanceTimersByTime(1);
    expect(restarts).toBe(3);
    vi.advanceTimersByTime(20_000); // capped at 20 s
    expect(restarts).toBe(4);
    expect(watchdog.restarts).toBe(4);
  });

  it("stops retrying once connected, and starts again from the shortest wait", () => {
    watchdog.update("failed");
    vi.advanceTimersByTime(8_000);
    expect(restarts).toBe(2);
    watchdog.update("connected");
    expect(watchdog.restarts).toBe(0);
    vi.advanceTimersByTime(100_000);
    expect(restarts).toBe(2);
    watchdog.update("failed");
    vi.advanceTimersByTime(8_000);
    expect(restarts).toBe(4);
  });

  it("does nothing once the connection is closed", () => {
    watchdog.update("disconnected");
    watchdog.update("closed");
    vi.advanceTimersByTime(100_000);
    watchdog.update("failed");
    expect(restarts).toBe(0);
  });
});
