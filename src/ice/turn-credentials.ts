/**
 * Short-lived TURN credentials, per the TURN REST API convention that
 * coturn's `use-auth-secret` / `static-auth-secret` implements: the username
 * is `<expiry unix time>:<app>`, the password is base64(HMAC-SHA1(secret,
 * username)). The TURN server checks the HMAC and the expiry itself; nothing
 * is stored anywhere.
 */
export interface TurnCredential {
  username: string;
  credential: string;
}

/**
 * @example
 * await mintTurnCredential("turn-shared-secret", "demo", 3600, new Date(1_700_000_000_000));
 * // { username: "1700003600:demo", credential: "KRaPkKtJDZn6KT2NjyXRLJfPl7Q=" }
 */
export async function mintTurnCredential(
  secret: string,
  app: string,
  ttlSeconds: number,
  now = new Date(),
): Promise<TurnCredential> {
  const expiry = Math.floor(now.getTime() / 1000) + ttlSeconds;
  const username = `${expiry}:${app}`;
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-1" }, false, [
    "sign",
  ]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(username)));
  let binary = "";
  for (const byte of mac) binary += String.fromCharCode(byte);
  return { username, credential: btoa(binary) };
}
