import { decodePacket, encodePacket, type Packet } from "engine.io-parser";

/**
 * Engine.IO v4 framing over WebSocket: one packet per frame, a one-digit type
 * followed by its data. Pure: no I/O, never throws on a peer's input.
 */

/** Server ping; the client answers {@link ENGINE_PONG}. */
export const ENGINE_PING = "2";
/** A client's answer to a ping. The runtime answers it without waking the object (see durable/). */
export const ENGINE_PONG = "3";
/** A packet that means nothing; the runtime's automatic answer to a pong. */
export const ENGINE_NOOP = "6";

/** What the server says in its `open` packet. */
export interface OpenHandshake {
  sid: string;
  /** Always empty: WebSocket is the only transport, so there is nothing to upgrade to. */
  upgrades: [];
  pingInterval: number;
  pingTimeout: number;
  maxPayload: number;
}

/** A frame from a client, as far as Engine.IO is concerned. */
export type EngineFrame =
  /** A Socket.IO packet (or any message) for the layer above. */
  | { kind: "message"; data: string }
  | { kind: "ping"; data?: string }
  | { kind: "pong" }
  | { kind: "close" }
  /** `upgrade` and `noop`: nothing to do over a WebSocket that is already the final transport. */
  | { kind: "ignored" }
  | { kind: "binary" }
  | { kind: "invalid"; reason: string };

/**
 * Decodes one WebSocket frame.
 *
 * @example
 * decodeEngineFrame("42[\"hello\"]"); // { kind: "message", data: "2[\"hello\"]" }
 * decodeEngineFrame("x");             // { kind: "invalid", reason: "unknown Engine.IO packet type \"x\"" }
 */
export function decodeEngineFrame(frame: string | ArrayBuffer): EngineFrame {
  // Binary frames, and the base64 form of binary ("b..."), only ever carry
  // Socket.IO binary attachments, which this server does not accept.
  if (typeof frame !== "string" || frame.startsWith("b")) return { kind: "binary" };
  if (frame === "") return { kind: "invalid", reason: "empty frame" };
  const packet: Packet = decodePacket(frame);
  switch (packet.type) {
    case "message":
      return { kind: "message", data: typeof packet.data === "string" ? packet.data : "" };
    case "ping":
      return typeof packet.data === "string" ? { kind: "ping", data: packet.data } : { kind: "ping" };
    case "pong":
      return { kind: "pong" };
    case "close":
      return { kind: "close" };
    case "upgrade":
    case "noop":
      return { kind: "ignored" };
    case "open":
      return { kind: "invalid", reason: "a client may not send an open packet" };
    default:
      return { kind: "invalid", reason: `unknown Engine.IO packet type "${frame.charAt(0)}"` };
  }
}

/** @example encodeEngineMessage('2["hi"]') === '42["hi"]' */
export function encodeEngineMessage(data: string): string {
  return encodeText({ type: "message", data });
}

/** @example encodeEnginePong("probe") === "3probe" */
export function encodeEnginePong(data?: string): string {
  return encodeText(data === undefined ? { type: "pong" } : { type: "pong", data });
}

/**
 * The first frame of every connection.
 *
 * @example
 * encodeOpenPacket({ sid: "abc", upgrades: [], pingInterval: 60000, pingTimeout: 30000, maxPayload: 1000000 });
 * // '0{"sid":"abc","upgrades":[],"pingInterval":60000,"pingTimeout":30000,"maxPayload":1000000}'
 */
export function encodeOpenPacket(handshake: OpenHandshake): string {
  return encodeText({ type: "open", data: JSON.stringify(handshake) });
}

function encodeText(packet: Packet): string {
  let encoded = "";
  // Synchronous for string data; the callback form is the package's API.
  encodePacket(packet, false, (data: string) => {
    encoded = data;
  });
  return encoded;
}
