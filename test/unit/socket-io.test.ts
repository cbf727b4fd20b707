import { Decoder, Encoder, type Packet, PacketType } from "socket.io-parser";
import { describe, expect, it } from "vitest";
import {
  decodeClientPacket,
  encodeAck,
  encodeConnectAccept,
  encodeConnectError,
  encodeEvent,
} from "../../src/protocol/socket-io";
import { fuzzFrame, random } from "../support/fuzz-frames";

/** Decodes what the server sends the way socket.io-client does. */
function asClientSees(frame: string): Packet {
  let packet: Packet | undefined;
  const decoder = new Decoder();
  decoder.on("decoded", (p: Packet) => {
    packet = p;
  });
  decoder.add(frame);
  if (!packet) throw new Error("nothing decoded");
  return packet;
}

describe("server packets, as socket.io-client decodes them", () => {
  it.each([
    ["CONNECT", encodeConnectAccept("Xy12"), { type: 0, nsp: "/", data: { sid: "Xy12" } }],
    [
      "CONNECT_ERROR",
      encodeConnectError("/", "Token is not valid", { code: "ERR_TOKEN_EXPIRED" }),
      { type: 4, nsp: "/", data: { message: "Token is not valid", data: { code: "ERR_TOKEN_EXPIRED" } } },
    ],
    [
      "CONNECT_ERROR for another namespace",
      encodeConnectError("/admin", "Invalid namespace"),
      { type: 4, nsp: "/admin", data: { message: "Invalid namespace" } },
    ],
    ["EVENT", encodeEvent("auth-accept", { token: "t" }), { type: 2, nsp: "/", data: ["auth-accept", { token: "t" }] }],
    ["ACK", encodeAck(7, { ok: true, data: 1 }), { type: 3, nsp: "/", id: 7, data: [{ ok: true, data: 1 }] }],
  ])("round-trips %s", (_label, frame, expected) => {
    expect(asClientSees(frame)).toEqual(expected);
  });
});

describe("encodeEvent", () => {
  it.each([
    ["an object", { room: "r", peer_id: "p", ice_candidate: { candidate: "c", sdpMLineIndex: 0 } }],
    ["null", null],
    ["unicode and escapes", { name: 'Zoë \u2028 "q" \n' }],
    ["a nested array", [[1, [2, [3]]]]],
  ])("writes %s exactly as socket.io-parser's Encoder does", (_label, data) => {
    const viaParser = new Encoder().encode({ type: PacketType.EVENT, nsp: "/", data: ["ice-candidate", data] })[0];
    expect(encodeEvent("ice-candidate", data)).toBe(viaParser);
  });
});

describe("client packets", () => {
  it.each([
    ["CONNECT without auth", "0", { kind: "connect", nsp: "/", auth: {} }],
    ["CONNECT with auth", '0{"token":"abc"}', { kind: "connect", nsp: "/", auth: { token: "abc" } }],
    ["CONNECT to another namespace", "0/admin,", { kind: "connect", nsp: "/admin", auth: {} }],
    ["DISCONNECT", "1", { kind: "disconnect", nsp: "/" }],
    ["EVENT", '2["auth-request","tok"]', { kind: "event", nsp: "/", name: "auth-request", args: ["tok"] }],
    [
      "EVENT with an ack id",
      '212["room-join-request",{"room":"r"}]',
      { kind: "event", nsp: "/", name: "room-join-request", args: [{ room: "r" }], ackId: 12 },
    ],
    ["EVENT without arguments", '2["ping-me"]', { kind: "event", nsp: "/", name: "ping-me", args: [] }],
    ["EVENT named by a number", "2[42]", { kind: "event", nsp: "/", name: "42", args: [] }],
    ["ACK", "35[]", { kind: "ack", nsp: "/", ackId: 5 }],
  ])("decodes %s", (_label, data, packet) => {
    expect(decodeClientPacket(data)).toEqual({ ok: true, packet });
  });

  it.each([
    ["an unknown type", "9"],
    ["an empty packet", ""],
    ["broken JSON", '2["auth-request",'],
    ["an event that is not an array", '2{"a":1}'],
    ["an empty event array", "2[]"],
    ["a reserved event name", '2["disconnect"]'],
    ["a CONNECT with an array", "0[1]"],
    ["a DISCONNECT with data", '1{"a":1}'],
    ["an ACK without id", "3[]"],
    ["an ACK that is not an array", "31{}"],
    ["a huge ack id", `2${"9".repeat(400)}["x"]`],
    ["a CONNECT_ERROR from a client", '4{"message":"x"}'],
    ["text", "hello"],
    // Issue #12: an EVENT without a payload made the decoder throw a TypeError (close 1011).
    ["an EVENT without payload", "2"],
    ["an EVENT without payload but with an ack id", "27"],
    ["an EVENT of another namespace without payload", "2/x,"],
    ["an EVENT of another namespace with only an ack id", "2/x,7"],
    ["an EVENT naming a namespace without a comma", "2/x"],
    ["an EVENT that is an object", "2{}"],
    ["an EVENT named by null", "2[null]"],
    ["an EVENT named by an object", '2[{"a":1}]'],
    ["an EVENT named by an array", "2[[1]]"],
    ["a space where the ack id goes", '2 ["a"]'],
    ["a newline where the ack id goes", '2\n["a"]'],
    ["a negative ack id", '2-1["a"]'],
    ["an ack id in exponent form", '21e5["a"]'],
    ["a CONNECT with garbage", "0x"],
    ["a CONNECT with null", "0null"],
    ["a CONNECT with a string", '0"s"'],
    ["a type that is not a digit", ' 2["a"]'],
    ["a type past the last one", "7"],
  ])("refuses %s with ERR_INVALID_PACKET", (_label, data) => {
    const result = decodeClientPacket(data);
    expect(result).toMatchObject({ ok: false, error: { code: "ERR_INVALID_PACKET", message: expect.any(String) } });
  });

  it.each([
    ["a binary event", '51-["upload",{"_placeholder":true,"num":0}]'],
    ["a binary ack", '61-1[{"_placeholder":true,"num":0}]'],
  ])("refuses %s with ERR_BINARY_NOT_SUPPORTED", (_label, data) => {
    expect(decodeClientPacket(data)).toMatchObject({ ok: false, error: { code: "ERR_BINARY_NOT_SUPPORTED" } });
  });
});

describe("client packets: the decoder never throws on a peer's input", () => {
  it("returns a result for every one of 20,000 hostile packets", () => {
    const next = random(12);
    for (let n = 0; n < 20_000; n++) {
      const frame = fuzzFrame(next, 2_000);
      // The Socket.IO part of an Engine.IO message frame ("4..."), or the frame itself.
      const data = typeof frame === "string" ? (frame.startsWith("4") ? frame.slice(1) : frame) : "2";
      const result = decodeClientPacket(data);
      expect(typeof result.ok).toBe("boolean");
    }
  });
});

describe("client packets nested too deeply", () => {
  const arrays = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;
  const objects = (depth: number) => `${'{"a":'.repeat(depth - 1)}{}${"}".repeat(depth - 1)}`;

  it.each([
    ["arrays", arrays],
    ["objects", objects],
  ])("accepts an argument of %s 32 levels deep", (_label, nest) => {
    const result = decodeClientPacket(`2["relay-ice-candidate",${nest(32)}]`);
    expect(result).toMatchObject({ ok: true, packet: { kind: "event", name: "relay-ice-candidate" } });
  });

  it.each([
    ["arrays 33 levels deep", arrays(33)],
    ["objects 33 levels deep", objects(33)],
    ["a request whose payload is 5,000 levels deep", `{"auth":"t","room":"r","payload":${arrays(5_000)}}`],
    ["arrays 500,000 levels deep (a 1 MB frame)", arrays(500_000)],
    ["brackets that never close", "[".repeat(100_000)],
  ])("refuses %s with ERR_INVALID_REQUEST, naming the event and keeping the ack id", (_label, argument) => {
    const result = decodeClientPacket(`27["relay-ice-candidate",{"ok":1},${argument}]`);
    expect(result).toEqual({
      ok: false,
      error: { code: "ERR_INVALID_REQUEST", message: expect.stringContaining("nested too deeply") },
      event: "relay-ice-candidate",
      ackId: 7,
    });
  });

  it("refuses a deep CONNECT auth and a deep event of unknown name without naming them", () => {
    expect(decodeClientPacket(`0{"token":${arrays(40)}}`)).toEqual({
      ok: false,
      error: expect.objectContaining({ code: "ERR_INVALID_REQUEST" }),
    });
    expect(decodeClientPacket(`2[7,${arrays(40)}]`)).toEqual({
      ok: false,
      error: expect.objectContaining({ code: "ERR_INVALID_REQUEST" }),
    });
  });

  it.each([
    ["brackets inside a string", `2["x","${"[{".repeat(100)}"]`],
    ["brackets after an escaped quote", `2["x","\\"${"[".repeat(100)}"]`],
    ["brackets inside an event name", `2["${"[".repeat(100)}"]`],
  ])("does not count %s", (_label, data) => {
    expect(decodeClientPacket(data)).toMatchObject({ ok: true });
  });

  it("counts brackets after an escaped backslash that ends a string", () => {
    const result = decodeClientPacket(`2["x","\\\\",${arrays(40)}]`);
    expect(result).toMatchObject({ ok: false, error: { code: "ERR_INVALID_REQUEST" }, event: "x" });
  });
});

describe("decoding EVENT packets on the relay's fast path", () => {
  it.each([
    ['2["relay-ice-candidate",{"a":1}]', { kind: "event", nsp: "/", name: "relay-ice-candidate", args: [{ a: 1 }] }],
    ['212["x",1,"y"]', { kind: "event", nsp: "/", name: "x", args: [1, "y"], ackId: 12 }],
    ["2[7]", { kind: "event", nsp: "/", name: "7", args: [] }],
    ['2/admin,["x"]', { kind: "event", nsp: "/admin", name: "x", args: [] }],
  ])("decodes %s as socket.io-parser would", (frame, packet) => {
    expect(decodeClientPacket(frame)).toEqual({ ok: true, packet });
  });

  it.each([
    ["2[]"],
    ['2["connect"]'],
    ['2["disconnect",{}]'],
    ["2[null]"],
    ['2[{"a":1}]'],
    ['2["x",'],
    ['29999999999999999999["x"]'],
  ])("refuses %s as an invalid packet", (frame) => {
    expect(decodeClientPacket(frame)).toMatchObject({ ok: false, error: { code: "ERR_INVALID_PACKET" } });
  });
});
