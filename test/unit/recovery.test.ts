import { describe, expect, it } from "vitest";
import { EventLog, newPid, pidHome, wantsRecovery, withOffset } from "../../src/socket/recovery";

const HOME = "a".repeat(64);
const limits = { maxEvents: 4, maxBytes: 10_000 };
const event = (n: number) => `42["ice-candidate",{"n":${n}}]`;

describe("pids", () => {
  it("name the object the session was born at, with 120 random bits", () => {
    const pid = newPid(HOME);
    expect(pidHome(pid)).toBe(HOME);
    expect(newPid(HOME)).not.toBe(pid);
  });

  it.each([
    ["made up", "hello"],
    ["no secret", `${HOME}.`],
    ["short secret", `${HOME}.abc`],
    ["not hex", `${"z".repeat(64)}.${"a".repeat(20)}`],
    ["not a string", 42],
    ["huge", "a".repeat(10_000)],
  ])("refuse a pid that is %s", (_label, pid) => {
    expect(pidHome(pid)).toBeNull();
  });
});

describe("the recovery query and offsets", () => {
  it("opts in with recovery=1 only", () => {
    expect(wantsRecovery(new URL("http://h/socket.io/?EIO=4&recovery=1"))).toBe(true);
    expect(wantsRecovery(new URL("http://h/socket.io/?EIO=4&recovery=true"))).toBe(false);
    expect(wantsRecovery(new URL("http://h/socket.io/?EIO=4"))).toBe(false);
  });

  it("appends the offset as the event's last argument, and leaves other frames alone", () => {
    expect(withOffset('42["a",{"x":1}]', "9")).toBe('42["a",{"x":1},"9"]');
    expect(withOffset('431[{"ok":true}]', "9")).toBe('431[{"ok":true}]');
    expect(withOffset("2", "9")).toBe("2");
  });
});

describe("EventLog", () => {
  it("numbers events from 1 and gives back those after an offset", () => {
    const log = new EventLog(limits);
    const sent = [1, 2, 3].map((n) => log.record(event(n)));
    expect(sent.map((e) => e.offset)).toEqual([1, 2, 3]);
    expect(sent[0]?.frame).toBe('42["ice-candidate",{"n":1},"1"]');
    expect(log.since("1")?.map((e) => e.offset)).toEqual([2, 3]);
    expect(log.since("3")).toEqual([]);
    expect(log.since(undefined)?.map((e) => e.offset)).toEqual([1, 2, 3]);
  });

  it("lets the oldest go while connected, and then cannot fill a gap", () => {
    const log = new EventLog(limits);
    for (let n = 1; n <= 6; n++) log.record(event(n));
    expect(log.events.map((e) => e.offset)).toEqual([3, 4, 5, 6]);
    expect(log.since("2")?.map((e) => e.offset)).toEqual([3, 4, 5, 6]);
    expect(log.since("1")).toBeNull(); // event 2 was let go
    expect(log.since(undefined)).toBeNull();
  });

  it("lets go by bytes too", () => {
    const log = new EventLog({ maxEvents: 100, maxBytes: 100 });
    log.record(`42["x","${"y".repeat(60)}"]`);
    log.record(`42["x","${"y".repeat(60)}"]`);
    expect(log.events.map((e) => e.offset)).toEqual([2]);
  });

  it.each([["not a number"], ["99"], ["-1"], [7], ["1e3"]])("refuses the offset %j", (offset) => {
    const log = new EventLog(limits);
    log.record(event(1));
    expect(log.since(offset)).toBeNull();
  });

  it("continues from a stored state", () => {
    const first = new EventLog(limits);
    first.record(event(1));
    const again = new EventLog(limits, { next: first.next, events: [...first.events] });
    expect(again.record(event(2)).offset).toBe(2);
    expect(again.since("1")?.map((e) => e.offset)).toEqual([2]);
  });
});
