import { describe, expect, it } from "vitest";
import { AlarmSchedule } from "../../src/durable/runtime/alarm-schedule";

/** Storage with one alarm, whose read resolves only when told to: lets two asks overlap it. */
function fakeStorage(initial: number | null) {
  let alarm = initial;
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const calls = { reads: 0, writes: [] as number[], unconfirmed: [] as boolean[] };
  const storage = {
    getAlarm: async () => {
      calls.reads++;
      await gate;
      return alarm;
    },
    setAlarm: async (at: number | Date, options?: DurableObjectSetAlarmOptions) => {
      alarm = Number(at);
      calls.writes.push(alarm);
      calls.unconfirmed.push(options?.allowUnconfirmed === true);
    },
  };
  return { storage, calls, release, alarm: () => alarm };
}

describe("the object's alarm", () => {
  it("reads storage once per instance and keeps the earliest wake asked for", async () => {
    const fake = fakeStorage(null);
    const alarms = new AlarmSchedule(fake.storage as unknown as DurableObjectStorage);
    // Two jobs ask while the first read is on its way: the later time must not win.
    const early = alarms.wakeBy(1_000);
    const late = alarms.wakeBy(5_000);
    fake.release();
    await Promise.all([early, late]);
    expect(fake.alarm()).toBe(1_000);
    expect(fake.calls.reads).toBe(1);
    await alarms.wakeBy(3_000);
    expect(fake.calls).toEqual({ reads: 1, writes: [1_000], unconfirmed: [false] });
  });

  it("in the background, touches storage only in the next turn, and does not wait for the write to be durable", async () => {
    const fake = fakeStorage(null);
    fake.release();
    const alarms = new AlarmSchedule(fake.storage as unknown as DurableObjectStorage);
    const done = alarms.wakeByInBackground(4_000);
    await Promise.resolve(); // microtasks of this turn
    expect(fake.calls.reads).toBe(0);
    await done;
    expect(fake.calls).toEqual({ reads: 1, writes: [4_000], unconfirmed: [true] });
  });

  it("does not move an alarm already in storage later", async () => {
    const fake = fakeStorage(2_000);
    fake.release();
    const alarms = new AlarmSchedule(fake.storage as unknown as DurableObjectStorage);
    await alarms.wakeBy(9_000);
    expect(fake.calls.writes).toEqual([]);
    await alarms.wakeBy(1_500);
    expect(fake.alarm()).toBe(1_500);
  });

  it("after the alarm ran, any wake asked for is set, and set() may move it later", async () => {
    const fake = fakeStorage(1_000);
    fake.release();
    const alarms = new AlarmSchedule(fake.storage as unknown as DurableObjectStorage);
    alarms.fired();
    expect(alarms.scheduled).toBeNull();
    await alarms.wakeBy(8_000);
    expect(fake.alarm()).toBe(8_000);
    await alarms.set(60_000);
    expect(alarms.scheduled).toBe(60_000);
    expect(fake.calls.reads).toBe(0);
  });

  it("reads again after a failed read, instead of failing every later wake", async () => {
    let fail = true;
    let alarm: number | null = null;
    const storage = {
      getAlarm: async () => {
        if (fail) throw new Error("storage unavailable");
        return alarm;
      },
      setAlarm: async (at: number | Date) => {
        alarm = Number(at);
      },
    };
    const alarms = new AlarmSchedule(storage as unknown as DurableObjectStorage);
    await expect(alarms.wakeBy(1_000)).rejects.toThrow("storage unavailable");
    fail = false;
    await alarms.wakeBy(2_000);
    expect(alarm).toBe(2_000);
  });
});
