import { Decoder, Encoder, type Packet, PacketType } from "socket.io-parser";
import { describe, expect, it } from "vitest";
import {
  decodeClientPacket,
  encodeAck,
  encodeConnectAccept,
  encodeConnectError,
  encodeDisconnect,
  encodeEvent,
} from "../../src/protocol/socket-io";

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
    ["DISCONNECT", encodeDisconnect(), { type: 1, nsp: "/" }],
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
