import { afterEach, describe, expect, it, vi } from "vitest";
import { Log } from "../../src/durable/runtime/log";
import { logFields, logText, MAX_LOG_TEXT } from "../../src/durable/runtime/log-fields";

afterEach(() => {
  vi.restoreAllMocks();
});

/** The default log, as an object without LOG_LIFECYCLE has it. */
const log = (what: string, fields: Record<string, unknown>) => new Log(undefined).line(what, fields);

/** What log() printed, one string per call. */
function printed(run: () => void): string[] {
  const spy = vi.spyOn(console, "log").mockImplementation(() => {});
  run();
  return spy.mock.calls.map(([line]) => line as string);
}

describe("log fields from clients (issue #12)", () => {
  it("logs a 60,000-character event name as unknown, on a short line", () => {
    const [line] = printed(() =>
      log("refusal", { object: "room:demo/lobby", event: "e".repeat(60_000), code: "ERR_UNKNOWN_EVENT" }),
    );
    expect(JSON.parse(line as string)).toEqual({
      object: "room:demo/lobby",
      event: "unknown",
      code: "ERR_UNKNOWN_EVENT",
      log: "refusal",
    });
  });

  it.each(["auth-request", "room-create-request", "relay-ice-candidate"])("keeps the known event name %s", (event) => {
    expect(logFields({ event })).toEqual({ event });
  });

  it.each(["__proto__", "constructor", "hasOwnProperty", "toString", "AUTH-REQUEST", "auth-request\n"])(
    "calls %j unknown",
    (event) => {
      expect(logFields({ event })).toEqual({ event: "unknown" });
    },
  );

  it("caps every string field, whatever its name", () => {
    const fields = logFields({ reason: "r".repeat(10_000), object: `room:demo/${"x".repeat(5_000)}` });
    for (const value of Object.values(fields)) {
      expect((value as string).length).toBeLessThanOrEqual(MAX_LOG_TEXT + 20);
    }
    expect(fields.reason).toMatch(/^r+…/);
  });

  it("keeps the longest object name (room:<64-char app>/<128-char room>) whole", () => {
    const object = `room:${"a".repeat(64)}/${"r".repeat(128)}`;
    expect(logText(object)).toBe(object);
  });

  it.each([
    ["U+2028", "lobby\u2028x", "lobby\\u2028x"],
    ["U+2029", "lobby\u2029x", "lobby\\u2029x"],
    ["U+0085 (C1)", "lobby\u0085x", "lobby\\u0085x"],
    ["a newline", "lobby\nfake log line", "lobby\\u000afake log line"],
    ["NUL", "a\u0000b", "a\\u0000b"],
    ["DEL", "a\u007fb", "a\\u007fb"],
    ["a bidi override", "a\u202eb", "a\\u202eb"],
  ])("escapes %s in a room name", (_label, room, escaped) => {
    expect(logText(`room:demo/${room}`)).toBe(`room:demo/${escaped}`);
    const [line] = printed(() => log("socket-close", { object: `room:demo/${room}` }));
    expect(line).not.toMatch(/[\p{Cc}\u2028\u2029]/u);
  });

  it("does not cut a surrogate pair in half", () => {
    const text = `${"a".repeat(MAX_LOG_TEXT - 1)}😀tail`;
    expect(logText(text)).toMatch(new RegExp(`^a{${MAX_LOG_TEXT - 1}}…`));
  });

  it("passes numbers, booleans and null through, and leaves plain strings alone", () => {
    expect(logFields({ code: 1009, seconds: 3, ok: true, none: null, socket: "Xy12" })).toEqual({
      code: 1009,
      seconds: 3,
      ok: true,
      none: null,
      socket: "Xy12",
    });
  });

  it("turns other values into capped text", () => {
    const fields = logFields({ detail: { note: "n".repeat(1_000) }, big: 10n });
    expect((fields.detail as string).length).toBeLessThanOrEqual(MAX_LOG_TEXT + 20);
    expect(fields.big).toBe("10");
  });

  it("still lets no field replace the log name", () => {
    const [line] = printed(() => log("refusal", { log: "forged" }));
    expect(JSON.parse(line as string)).toEqual({ log: "refusal" });
  });
});

describe("LOG_LIFECYCLE", () => {
  let lines = new Log(undefined);
  const logLifecycle = (setting: string | undefined) => {
    lines = new Log(setting);
  };
  const call = () => {
    lines.line("socket-open", { socket: "a" });
    lines.line("room-created", { object: "room:demo/lobby" });
    lines.line("socket-close", { socket: "a", code: 1000, seconds: 12 });
    lines.line("room-deleted", { object: "room:demo/lobby", seconds: 12 });
    lines.line("refusal", { socket: "b", code: "ERR_RATE_LIMITED" });
    lines.line("peer-gone", { socket: "c" });
    lines.line("socket-close", { socket: "b", code: 1008, unloggedRefusals: 12 });
  };
  const names = (printedLines: string[]) => printedLines.map((line) => JSON.parse(line).log);

  it("by default logs only the ends of sockets and rooms, and nothing while a call is set up", () => {
    logLifecycle(undefined);
    expect(names(printed(call))).toEqual(["socket-close", "room-deleted", "refusal", "peer-gone", "socket-close"]);
  });

  it("takes an unknown setting for the default", () => {
    logLifecycle("yes please");
    expect(names(printed(call))).toEqual(["socket-close", "room-deleted", "refusal", "peer-gone", "socket-close"]);
  });

  it("on: also logs opens and creations as they happen", () => {
    logLifecycle("on");
    expect(names(printed(call))).toEqual([
      "socket-open",
      "room-created",
      "socket-close",
      "room-deleted",
      "refusal",
      "peer-gone",
      "socket-close",
    ]);
  });

  it("off: leaves out ordinary opens, closes and rooms, and keeps refusals, ghosts and the close of a refused socket", () => {
    logLifecycle("off");
    expect(names(printed(call))).toEqual(["refusal", "peer-gone", "socket-close"]);
  });
});
