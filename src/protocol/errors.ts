import type { Outcome, Refusal } from "./events";

/**
 * Every error a Socket.IO client can receive, with its stable code and
 * default message. docs/PROTOCOL.md has the same table; tests assert codes.
 */
export const SIGNALING_ERRORS = {
  // Frames and packets
  ERR_INVALID_PACKET: "Invalid Socket.IO packet",
  ERR_BINARY_NOT_SUPPORTED: "Binary attachments are not supported; send JSON",
  ERR_NOT_CONNECTED: "Connect to the namespace / before sending events",
  ERR_UNKNOWN_EVENT: "Unknown event",
  ERR_INVALID_REQUEST: "Request is not valid",
  ERR_PAYLOAD_TOO_LARGE: "payload is too large",
  ERR_RATE_LIMITED: "Too many messages; slow down",
  ERR_INTERNAL: "Internal server error",
  // Rooms
  ERR_ROOM_TAKEN: "Room is already taken; choose another name or leave it out for a generated one",
  ERR_ROOM_NOT_FOUND: "Room not found",
  ERR_ALREADY_MEMBER: "You are already a member of this room",
  ERR_JOIN_PENDING: "Your request to join this room awaits the owner's answer",
  ERR_ROOM_FULL: "Room is full",
  ERR_TOO_MANY_REQUESTS: "Too many requests await the room's owner; try again later",
  ERR_TOO_MANY_ROOMS: "This connection is in too many rooms",
  ERR_NOT_OWNER: "Only the room's owner may answer join requests",
  ERR_NO_SUCH_REQUEST: "That peer has no pending request to join this room",
  ERR_JOIN_REJECTED: "Room owner rejected your request",
  ERR_ROOM_CLOSED: "Room was closed: everyone left",
  ERR_JOIN_TIMEOUT: "The room's owner did not answer in time",
  ERR_NOT_MEMBER: "You are not a member of this room",
  ERR_PEER_NOT_IN_ROOM: "That peer is not a member of this room",
  ERR_ROOM_UNAVAILABLE: "Room could not be reached; try again",
  // Tokens (see src/auth/token-error.ts for what each means)
  ERR_TOKEN_MISSING: "Token is not valid",
  ERR_TOKEN_MALFORMED: "Token is not valid",
  ERR_TOKEN_BAD_SIGNATURE: "Token is not valid",
  ERR_TOKEN_EXPIRED: "Token is not valid",
  ERR_TOKEN_WRONG_TYPE: "Token is not valid",
  ERR_TOKEN_WRONG_APP: "Token is not valid",
  ERR_TOKEN_WRONG_CONNECTION: "Token is not valid",
} as const;

export type SignalingErrorCode = keyof typeof SIGNALING_ERRORS;

/**
 * A refusal with its code and a message: the table's unless one is given.
 *
 * @example refusal("ERR_UNKNOWN_EVENT", 'Unknown event "foo"')
 */
export function refusal<C extends SignalingErrorCode>(
  code: C,
  message: string = SIGNALING_ERRORS[code],
): Refusal & { code: C } {
  return { code, message };
}

/**
 * A refusal whose message is the table's followed by what exactly was wrong.
 *
 * @example refusalBecause("ERR_INVALID_PACKET", "empty packet") // { code, message: "Invalid Socket.IO packet: empty packet" }
 */
export function refusalBecause<C extends SignalingErrorCode>(code: C, detail: string): Refusal & { code: C } {
  return refusal(code, `${SIGNALING_ERRORS[code]}: ${detail}`);
}

/** @example failure(refusal("ERR_TOKEN_EXPIRED")) // { ok: false, error: { code, message } } */
export function failure(error: Refusal): Outcome<never> {
  return { ok: false, error: { code: error.code, message: error.message } };
}

/** @example success({ token }) // { ok: true, data: { token } } */
export function success<T>(data: T): Outcome<T> {
  return { ok: true, data };
}
