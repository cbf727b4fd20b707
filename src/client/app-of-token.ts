/**
 * The `app` claim of an app token, read without the key (a JWT's payload is plain base64url
 * JSON). The library needs it for the handshake query of a room placement (`app`, `room`, `token`);
 * the server checks the token itself. `null` for anything that is not a JWT with an `app` claim.
 *
 * @example
 * appOfToken("eyJhbGciOiJIUzI1NiJ9.eyJhcHAiOiJkZW1vIn0.sig") // "demo"
 */
export function appOfToken(token: string): string | null {
  const payload = token.split(".")[1];
  if (!payload) return null;
  try {
    const base64 = payload.replace(/-/g, "+").replace(/_/g, "/");
    const claims: unknown = JSON.parse(atob(base64.padEnd(base64.length + ((4 - (base64.length % 4)) % 4), "=")));
    const app = (claims as { app?: unknown } | null)?.app;
    return typeof app === "string" && app !== "" ? app : null;
  } catch {
    return null;
  }
}
