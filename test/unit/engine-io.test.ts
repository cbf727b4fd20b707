import { describe, expect, it } from "vitest";
import {
  decodeEngineFrame,
  encodeEngineMessage,
  encodeEnginePong,
  encodeOpenPacket,
} from "../../src/protocol/engine-io";

describe("Engine.IO frames", () => {
  it("encodes the open packet with the handshake as JSON", () => {
    const handshake = { sid: "abc", upgrades: [] as [], pingInterval: 60000, pingTimeout: 30000, maxPayload: 65536 };
    const frame = encodeOpenPacket(handshake);
    expect(frame.charAt(0)).toBe("0");
    expect(JSON.parse(frame.slice(1))).toEqual(handshake);
  });

  it.each([
    ['2["hi"]', '42["hi"]'],
    ["", "4"],
  ])("wraps %j as message %j and decodes it back", (data, frame) => {
    expect(encodeEngineMessage(data)).toBe(frame);
    expect(decodeEngineFrame(frame)).toEqual({ kind: "message", data });
  });

  it("answers a probe ping with a probe pong", () => {
    expect(decodeEngineFrame("2probe")).toEqual({ kind: "ping", data: "probe" });
    expect(encodeEnginePong("probe")).toBe("3probe");
    expect(encodeEnginePong()).toBe("3");
  });

  it.each([
    ["2", { kind: "ping" }],
    ["3", { kind: "pong" }],
    ["1", { kind: "close" }],
    ["5", { kind: "ignored" }],
    ["6", { kind: "ignored" }],
    ["bAAEC", { kind: "binary" }],
    [new ArrayBuffer(4), { kind: "binary" }],
  ])("decodes %j", (frame, expected) => {
    expect(decodeEngineFrame(frame)).toEqual(expected);
  });

  it.each(["", "0", '0{"sid":"x"}', "7", "9abc", "x", "{}", "\u0000", "-1"])(
    "refuses %j as invalid without throwing",
    (frame) => {
      expect(decodeEngineFrame(frame)).toMatchObject({ kind: "invalid", reason: expect.any(String) });
    },
  );
});
