/** Stable codes a caller can switch on; the messages may change, the codes do not. */
export type TokenErrorCode =
  /** No token where one is needed: absent, null or empty. */
  | "ERR_TOKEN_MISSING"
  /** Not a JWT (or not a string), wrong algorithm, or claims missing or of the wrong type. */
  | "ERR_TOKEN_MALFORMED"
  /** Signed with another key, or altered after signing. */
  | "ERR_TOKEN_BAD_SIGNATURE"
  /** A session token past its `exp`. */
  | "ERR_TOKEN_EXPIRED"
  /** An app token where a session token was expected, or the reverse. */
  | "ERR_TOKEN_WRONG_TYPE"
  /** A session token issued to another app. */
  | "ERR_TOKEN_WRONG_APP"
  /** A session token issued to another connection. */
  | "ERR_TOKEN_WRONG_CONNECTION";

/**
 * Why a token was refused.
 *
 * @example
 * try { await verifySessionToken(secret, token, expected) }
 * catch (e) { if (e instanceof TokenError && e.code === "ERR_TOKEN_EXPIRED") ... }
 */
export class TokenError extends Error {
  override name = "TokenError";

  constructor(
    readonly code: TokenErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
