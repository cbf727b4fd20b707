import type { SessionTokenClaims } from "./tokens";

/**
 * Remembers, per connection, the session token that last passed
 * verification, until it expires, so a peer relaying dozens of ICE
 * candidates pays for one HMAC check instead of one per message. Only the
 * identical token string for the same connection is let through, and only
 * before its `exp`; anything else is verified in full. Memory only: a woken
 * object starts empty and verifies again.
 */
export class VerifiedSessions {
  readonly #byConnection = new Map<string, { token: string; expiresAt: number }>();

  /**
   * Resolves if `token` is valid for `connection`, verifying it with `verify` unless it is remembered.
   *
   * @example await sessions.check(socketId, token, Date.now(), () => verifySessionToken(secret, token, binding));
   */
  async check(
    connection: string,
    token: string,
    now: number,
    verify: () => Promise<SessionTokenClaims>,
  ): Promise<void> {
    const known = this.#byConnection.get(connection);
    if (known && known.token === token && now < known.expiresAt) return;
    const claims = await verify();
    this.#byConnection.set(connection, { token, expiresAt: claims.exp * 1000 });
  }

  /** `token` was just signed for `connection` and is valid until `expiresAt` (ms): its first use need not be verified either. */
  remember(connection: string, token: string, expiresAt: number): void {
    this.#byConnection.set(connection, { token, expiresAt });
  }

  forget(connection: string): void {
    this.#byConnection.delete(connection);
  }
}
