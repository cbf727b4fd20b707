/**
 * Claims of this server's tokens, read without the key (a JWT's payload is plain base64url JSON;
 * docs/PROTOCOL.md says clients may read `exp` this way). The server checks the tokens itself; the
 * library only needs the app of an app token (the handshake query of a room placement) and when a
 * session token expires (to renew it before).
 */

/** The payload of a JWT, or `null` for anything that is not one. */
export function claimsOf(token: string): Record<string, unknown> | null {
  const payload = token.split(".")[1];
  if (!payload) return null;
  try {
    const base64 = payload.replace(/-/g, "+").replace(/_/g, "/");
    const claims: unknown = JSON.parse(atob(base64.padEnd(base64.length + ((4 - (base64.length % 4)) % 4), "=")));
    return claims && typeof claims === "object" ? (claims as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * The `app` claim of an app token, or `null`.
 *
 * @example
 * appOfToken("eyJhbGciOiJIUzI1NiJ9.eyJhcHAiOiJkZW1vIn0.sig") // "demo"
 */
export function appOfToken(token: string): string | null {
  const app = claimsOf(token)?.app;
  return typeof app === "string" && app !== "" ? app : null;
}

/**
 * When a session token expires, in milliseconds since 1970 (its `exp` claim), or `null`.
 *
 * @example
 * expiryOf(sessionToken) // 1767225600000
 */
export function expiryOf(token: string): number | null {
  const exp = claimsOf(token)?.exp;
  return typeof exp === "number" && Number.isFinite(exp) ? exp * 1000 : null;
}

/**
 * How long to wait before renewing a session token issued at `now` that expires at `expiresAt`: a
 * minute before expiry, but not before half its life (short test lifetimes), and at least a second.
 *
 * @example
 * renewAfterMs(0, 86_400_000) // 86_340_000
 * renewAfterMs(0, 4_000)      // 2_000
 */
export function renewAfterMs(now: number, expiresAt: number): number {
  const life = expiresAt - now;
  return Math.max(1_000, Math.max(life - 60_000, life / 2));
}
