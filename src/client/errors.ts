import type { SignalingErrorCode } from "../protocol/errors";

/**
 * Codes the client library adds to the server's (docs/PROTOCOL.md, "Error codes"): conditions
 * seen by the client that the server never sends.
 */
export type ClientErrorCode =
  /** The socket is not connected, and the request could not wait for it. */
  | "ERR_DISCONNECTED"
  /** No answer (event or acknowledgement) within the request timeout. */
  | "ERR_NO_ANSWER"
  /** The room was left (or the client closed) while the request was under way. */
  | "ERR_LEFT"
  /** The socket could not connect at all (HTTP refusal of the upgrade, no server). */
  | "ERR_CONNECT_FAILED"
  /** `GET /ice-servers` failed. */
  | "ERR_ICE_SERVERS";

/** Every code a {@link SignalingError} may carry: the server's table and the client's own. */
export type ErrorCode = SignalingErrorCode | ClientErrorCode;

/**
 * The one error type of the library. `code` is stable: switch on it, not on the message.
 *
 * @example
 * try { await client.joinRoom("lobby"); }
 * catch (error) { if (error instanceof SignalingError && error.code === "ERR_JOIN_REJECTED") showRejected(); }
 */
export class SignalingError extends Error {
  override readonly name = "SignalingError";
  readonly code: ErrorCode;
  /** The request the server refused, when known (`signaling-error`'s `event`). */
  readonly event: string | undefined;
  /** The room the refusal is about, when known. */
  readonly room: string | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    details: { event?: string | undefined; room?: string | undefined } = {},
  ) {
    super(message);
    this.code = code;
    this.event = details.event;
    this.room = details.room;
  }

  /** From a refusal the server sent (`{ code, message, event?, room? }`). */
  static from(refusal: { code: string; message: string; event?: string; room?: string }): SignalingError {
    return new SignalingError(refusal.code as ErrorCode, refusal.message, refusal);
  }
}
