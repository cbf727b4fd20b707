import { describe, expect, it } from "vitest";
import { FloodGuard } from "../../src/durable/sockets/flood-guard";

describe("FloodGuard", () => {
  const guard = () => new FloodGuard(() => ({ rate: 1, capacity: 2 }));

  it("admits a burst, then answers a refusal with the frame's failed ack, or a signaling-error without one", () => {
    const flood = guard();
    expect(flood.admit("s", '42["x"]', 0)).toEqual({ kind: "admit" });
    expect(flood.admit("s", '42["x"]', 0)).toEqual({ kind: "admit" });
    expect(flood.admit("s", '427["x"]', 0)).toEqual({
      kind: "refuse",
      answer: '437[{"ok":false,"error":{"code":"ERR_RATE_LIMITED","message":"Too many messages; slow down"}}]',
    });
    expect(flood.admit("s", '42["x"]', 0)).toMatchObject({
      kind: "refuse",
      answer: expect.stringMatching(/^42\["signaling-error"/),
    });
  });

  it("drops refusals past the first few, closes a flood, and keeps sockets apart", () => {
    const flood = guard();
    const kinds = Array.from({ length: 8 }, () => flood.admit("s", "x", 0).kind);
    expect(kinds).toEqual(["admit", "admit", "refuse", "refuse", "close", "close", "close", "close"]);
    expect(flood.admit("other", "x", 0).kind).toBe("admit");
  });

  it("lets a few refusal lines be logged per window and counts the rest when the socket goes", () => {
    const flood = guard();
    const logged = Array.from({ length: 8 }, () => flood.mayLog("s", 0)).filter(Boolean).length;
    expect(logged).toBe(5);
    expect(flood.forget("s")).toBe(3);
    expect(flood.forget("s")).toBe(0);
  });
});
