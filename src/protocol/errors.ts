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
  ERR_INTERNAL: "Internal server error",
  // Tokens (see src/auth/token-error.ts for what each means)
  ERR_TOKEN_MALFORMED: "Token is not valid",
  ERR_TOKEN_BAD_SIGNATURE: "Token is not valid",
  ERR_TOKEN_EXPIRED: "Token is not valid",
  ERR_TOKEN_WRONG_TYPE: "Token is not valid",
  ERR_TOKEN_WRONG_APP: "Token is not valid",
  ERR_TOKEN_WRONG_CONNECTION: "Token is not valid",
  ERR_NOT_CONFIGURED: "Server is not configured",
} as const;

export type SignalingErrorCode = keyof typeof SIGNALING_ERRORS;

/**
 * A refusal with its code and a message: the table's unless one is given.
 *
 * @example refusal("ERR_UNKNOWN_EVENT", 'Unknown event "foo"')
 */
export function refusal(code: SignalingErrorCode, message: string = SIGNALING_ERRORS[code]): Refusal {
  return { code, message };
}

/** @example failure(refusal("ERR_TOKEN_EXPIRED")) // { ok: false, error: { code, message } } */
export function failure(error: Refusal): Outcome<never> {
  return { ok: false, error: { code: error.code, message: error.message } };
}

/** @example success({ token }) // { ok: true, data: { token } } */
export function success<T>(data: T): Outcome<T> {
  return { ok: true, data };
}
