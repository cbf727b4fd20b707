import { Decoder, Encoder, type Packet, PacketType } from "socket.io-parser";
import { refusal, refusalBecause } from "./errors";
import { endOfJsonString, jsonNestedDeeperThan } from "./json-depth";

/**
 * Socket.IO v5 packets, carried inside Engine.IO `message` packets. Pure: no
 * I/O, never throws on a peer's input.
 */

/** The only namespace this server serves. */
export const MAIN_NAMESPACE = "/";

/** A packet from a client, checked for shape; event arguments are still untrusted. */
export type ClientPacket =
  | { kind: "connect"; nsp: string; auth: Record<string, unknown> }
  | { kind: "disconnect"; nsp: string }
  | { kind: "event"; nsp: string; name: string; args: unknown[]; ackId?: number }
  /** An answer to an acknowledgement the server asked for; the server never asks, so it is ignored. */
  | { kind: "ack"; nsp: string; ackId: number };

/** Why a frame was not a usable packet. */
export type PacketError =
  | { code: "ERR_INVALID_PACKET"; message: string }
  | { code: "ERR_BINARY_NOT_SUPPORTED"; message: string }
  /** An argument nested deeper than {@link MAX_ARGUMENT_DEPTH}. */
  | { code: "ERR_INVALID_REQUEST"; message: string };

/**
 * A refused packet may still name its event and acknowledgement id, when
 * they could be read: the refusal then goes where the request's would, and
 * the client's ack is answered.
 */
export type DecodeResult =
  | { ok: true; packet: ClientPacket }
  | { ok: false; error: PacketError; event?: string; ackId?: number };

/**
 * Most levels of arrays and objects inside one another in an argument of a
 * packet (the request object is the first level). No signaling request needs
 * more than a few; deeper ones cost parse time and break re-serializing.
 */
export const MAX_ARGUMENT_DEPTH = 32;

/**
 * The part of a packet before its JSON: type, namespace, ack id. The
 * parser's own reading is laxer (it takes a space or a newline for an ack id
 * digit), so this is checked first; stock clients always match.
 */
const HEADER = /^[0-4](?:\/[^,]*(?:,|$))?(\d*)(?=[[{]|$)/;

const BINARY_REFUSED: PacketError = refusal("ERR_BINARY_NOT_SUPPORTED");

/**
 * Decodes the data of one Engine.IO message into a Socket.IO packet.
 *
 * @example
 * decodeClientPacket('2["auth-request","token"]');
 * // { ok: true, packet: { kind: "event", nsp: "/", name: "auth-request", args: ["token"] } }
 */
export function decodeClientPacket(data: string): DecodeResult {
  // The parser reads "" as a CONNECT (Number("") is 0); no client sends that.
  if (data === "") return invalid("empty packet");
  const type = Number(data.charAt(0));
  // Refused before decoding: the parser would wait for attachments that never come.
  if (type === PacketType.BINARY_EVENT || type === PacketType.BINARY_ACK) return { ok: false, error: BINARY_REFUSED };
  const header = HEADER.exec(data);
  if (!header) return invalid("malformed packet header");
  const body = header[0].length;
  // The packet's own array counts one level more than its arguments.
  if (jsonNestedDeeperThan(data, body, MAX_ARGUMENT_DEPTH + 1)) return tooDeep(data, type, body, header[1]);

  // The hot path (every relay): an EVENT to the main namespace is one JSON.parse, without the
  // parser's per-frame Decoder and emitter. Same checks as the parser's, same result.
  if (type === PacketType.EVENT && data.charCodeAt(1) !== 0x2f /* / */ && data.charCodeAt(body) === 0x5b /* [ */) {
    return decodeEvent(data, body, header[1]);
  }

  let packet: Packet | undefined;
  // A fresh decoder per frame: a decoder keeps state between frames, and
  // nothing in memory survives hibernation anyway.
  const decoder = new Decoder();
  decoder.on("decoded", (decoded: Packet) => {
    packet = decoded;
  });
  try {
    decoder.add(data);
  } catch (error) {
    return invalid(error instanceof Error ? error.message : "unreadable packet");
  } finally {
    decoder.destroy();
  }
  if (!packet) return invalid("unreadable packet");
  if (packet.id !== undefined && !Number.isSafeInteger(packet.id)) return invalid("acknowledgement id out of range");

  switch (packet.type) {
    case PacketType.CONNECT:
      // The parser has checked that data, if any, is a plain object.
      return {
        ok: true,
        packet: { kind: "connect", nsp: packet.nsp, auth: (packet.data as Record<string, unknown>) ?? {} },
      };
    case PacketType.DISCONNECT:
      return { ok: true, packet: { kind: "disconnect", nsp: packet.nsp } };
    case PacketType.EVENT: {
      // The parser checks an event's data only when there is some: "2" and "27" come through without.
      if (!Array.isArray(packet.data) || packet.data.length === 0) return invalid("an event needs a name");
      const [name, ...args] = packet.data as unknown[];
      // The parser also lets numbers through as event names; Socket.IO servers treat those as strings.
      const event: ClientPacket = { kind: "event", nsp: packet.nsp, name: String(name), args };
      if (packet.id !== undefined) event.ackId = packet.id;
      return { ok: true, packet: event };
    }
    case PacketType.ACK:
      return packet.id === undefined
        ? invalid("acknowledgement without an id")
        : { ok: true, packet: { kind: "ack", nsp: packet.nsp, ackId: packet.id } };
    default:
      return invalid("a client may not send this packet type");
  }
}

/** Event names a client may not use: socket.io's own (socket.io-parser's RESERVED_EVENTS). */
const RESERVED_EVENTS = new Set([
  "connect",
  "connect_error",
  "disconnect",
  "disconnecting",
  "newListener",
  "removeListener",
]);

/** An EVENT packet to `/` whose JSON starts at `body`, with the ack id's digits if any. */
function decodeEvent(data: string, body: number, ackDigits: string | undefined): DecodeResult {
  let payload: unknown;
  try {
    payload = JSON.parse(data.slice(body));
  } catch {
    return invalid("invalid payload");
  }
  if (!Array.isArray(payload) || payload.length === 0) return invalid("an event needs a name");
  const name: unknown = payload[0];
  if (!(typeof name === "number" || (typeof name === "string" && !RESERVED_EVENTS.has(name)))) {
    return invalid("invalid payload");
  }
  // Numbers pass as event names in the parser too; Socket.IO servers treat those as strings.
  const event: Extract<ClientPacket, { kind: "event" }> = {
    kind: "event",
    nsp: MAIN_NAMESPACE,
    name: String(name),
    args: payload.slice(1),
  };
  if (ackDigits) {
    const ackId = Number(ackDigits);
    if (!Number.isSafeInteger(ackId)) return invalid("acknowledgement id out of range");
    event.ackId = ackId;
  }
  return { ok: true, packet: event };
}

function invalid(reason: string): DecodeResult {
  return { ok: false, error: refusalBecause("ERR_INVALID_PACKET", reason) };
}

/** A packet nested too deeply, with its event name and ack id if they can be read without parsing the rest. */
function tooDeep(data: string, type: number, body: number, ackDigits: string | undefined): DecodeResult {
  const result: DecodeResult = {
    ok: false,
    error: refusal(
      "ERR_INVALID_REQUEST",
      `Request is nested too deeply: at most ${MAX_ARGUMENT_DEPTH} levels of arrays and objects`,
    ),
  };
  if (type !== PacketType.EVENT) return result;
  const event = data.charAt(body) === "[" ? leadingString(data, body + 1) : undefined;
  if (event !== undefined) result.event = event;
  const ackId = ackDigits ? Number(ackDigits) : undefined;
  if (ackId !== undefined && Number.isSafeInteger(ackId)) result.ackId = ackId;
  return result;
}

/** The JSON string starting at `at`, if one does. */
function leadingString(data: string, at: number): string | undefined {
  if (data.charAt(at) !== '"') return undefined;
  const end = endOfJsonString(data, at);
  if (end < 0) return undefined;
  try {
    return JSON.parse(data.slice(at, end + 1)) as string;
  } catch {
    return undefined;
  }
}

const encoder = new Encoder();

function encode(packet: Packet): string {
  // Only JSON travels here, so the encoder always returns a single string.
  return encoder.encode(packet)[0] as string;
}

/**
 * The server's answer to a successful CONNECT: the socket id is the peer's `peer_id`;
 * with connection state recovery, also the session's private id.
 *
 * @example encodeConnectAccept("Xy12") === '0{"sid":"Xy12"}'
 */
export function encodeConnectAccept(socketId: string, pid?: string): string {
  const data = pid === undefined ? { sid: socketId } : { sid: socketId, pid };
  return encode({ type: PacketType.CONNECT, nsp: MAIN_NAMESPACE, data });
}

/**
 * A refused CONNECT; the client's `connect_error` handler gets an Error whose
 * `message` is `message` and whose `data` is `data`.
 *
 * @example encodeConnectError("/", "Token is not valid", { code: "ERR_TOKEN_BAD_SIGNATURE" })
 */
export function encodeConnectError(nsp: string, message: string, data?: unknown): string {
  const payload = data === undefined ? { message } : { message, data };
  return encode({ type: PacketType.CONNECT_ERROR, nsp, data: payload });
}

/**
 * An EVENT for the main namespace. Written directly rather than through the
 * parser's Encoder, which first walks the whole value looking for binary
 * data: every event the server sends is JSON, and this is the relay's hot
 * path. The output is what the Encoder produces (tested).
 *
 * @example encodeEvent("auth-accept", { token }) === '2["auth-accept",{"token":"..."}]'
 */
export function encodeEvent(name: string, data: unknown): string {
  return `${PacketType.EVENT}${JSON.stringify([name, data])}`;
}

/** @example encodeAck(7, { ok: true }) === '37[{"ok":true}]' */
export function encodeAck(ackId: number, data: unknown): string {
  return encode({ type: PacketType.ACK, nsp: MAIN_NAMESPACE, id: ackId, data: [data] });
}

/**
 * The acknowledgement id of a Socket.IO EVENT inside an Engine.IO message
 * frame, read without decoding the rest: for answering frames that are
 * refused before they are parsed (rate limiting).
 *
 * @example ackIdOf('4212["relay-ice-candidate",{}]') === 12
 */
export function ackIdOf(frame: string): number | undefined {
  const match = /^42(\d{1,15})\[/.exec(frame);
  return match ? Number(match[1]) : undefined;
}
