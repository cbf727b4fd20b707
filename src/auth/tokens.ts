import { errors, jwtVerify, SignJWT } from "jose";
import { TokenError } from "./token-error";

/**
 * App and session tokens: HS256 JWTs signed with `TOKEN_SECRET`.
 *
 * Each kind carries its own `typ` header (RFC 8725, section 3.11), so an app
 * token can never pass as a session token or the reverse, although both are
 * signed with the same key.
 */
export const APP_TOKEN_TYPE = "app+jwt";
export const SESSION_TOKEN_TYPE = "session+jwt";

const ALGORITHM = "HS256";

/** What an app token says: the app (tenant) it was issued to. */
export interface AppTokenClaims {
  app: string;
}

/** What a session token says: the app and the connection it is bound to. */
export interface SessionTokenClaims {
  app: string;
  /** The connection (Engine.IO / Socket.IO session) the token was issued to. */
  connection: string;
  /** Expiry, in seconds since the epoch. */
  exp: number;
}

/**
 * Signs a non-expiring app token naming `app`.
 *
 * @example
 * const token = await signAppToken(secret, "demo-chat-test");
 */
export async function signAppToken(secret: string, app: string, now = new Date()): Promise<string> {
  return new SignJWT({ app })
    .setProtectedHeader({ alg: ALGORITHM, typ: APP_TOKEN_TYPE })
    .setIssuedAt(now)
    .sign(await keyFor(secret));
}

/**
 * Verifies an app token and returns the app it names.
 * Throws {@link TokenError} (`ERR_TOKEN_MISSING`, `ERR_TOKEN_MALFORMED`, `ERR_TOKEN_BAD_SIGNATURE`, `ERR_TOKEN_WRONG_TYPE`).
 *
 * @example
 * const { app } = await verifyAppToken(secret, handshake.auth.token);
 */
export async function verifyAppToken(secret: string, token: unknown, now = new Date()): Promise<AppTokenClaims> {
  const known = typeof token === "string" ? verifiedAppTokens.get(token) : undefined;
  if (known && known.secret === secret) return { app: known.app };
  const payload = await verify(secret, token, APP_TOKEN_TYPE, now);
  const claims = { app: stringClaim(payload, "app") };
  // Only a token that cannot expire may be trusted again without its HMAC (ours never carry a time limit).
  if (typeof token === "string" && payload.exp === undefined && payload.nbf === undefined) {
    if (verifiedAppTokens.size >= VERIFIED_APP_TOKENS_MAX) {
      verifiedAppTokens.delete(verifiedAppTokens.keys().next().value as string);
    }
    verifiedAppTokens.set(token, { secret, app: claims.app });
  }
  return claims;
}

/**
 * App tokens that passed verification, with the secret they passed under:
 * an app token has no expiry, so the same string under the same secret
 * passes again. A socket presents its app token up to three times while it
 * sets up (the upgrade's query, CONNECT, `auth-request`): jose's checks were
 * 5.5% of a call set-up's CPU profile, and are now one per token. Only
 * successes are kept, the oldest forgotten first; a rotated secret matches none.
 */
const verifiedAppTokens = new Map<string, { secret: string; app: string }>();
const VERIFIED_APP_TOKENS_MAX = 1_000;

/**
 * Signs a session token bound to `app` and `connection`, valid for `lifetimeSeconds`.
 *
 * @example
 * const token = await signSessionToken(secret, { app, connection: socket.id, lifetimeSeconds: 86400 });
 */
export async function signSessionToken(
  secret: string,
  binding: { app: string; connection: string; lifetimeSeconds: number },
  now = new Date(),
): Promise<string> {
  const issuedAt = Math.floor(now.getTime() / 1000);
  return new SignJWT({ app: binding.app, cid: binding.connection })
    .setProtectedHeader({ alg: ALGORITHM, typ: SESSION_TOKEN_TYPE })
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + binding.lifetimeSeconds)
    .sign(await keyFor(secret));
}

/**
 * Verifies a session token and checks that it was issued to `expected.app`
 * and `expected.connection`. Throws {@link TokenError}: `ERR_TOKEN_EXPIRED`,
 * `ERR_TOKEN_WRONG_APP`, `ERR_TOKEN_WRONG_CONNECTION`, or those of {@link verifyAppToken}.
 *
 * @example
 * await verifySessionToken(secret, request.auth, { app: "demo", connection: socket.id });
 */
export async function verifySessionToken(
  secret: string,
  token: unknown,
  expected: { app: string; connection: string },
  now = new Date(),
): Promise<SessionTokenClaims> {
  const payload = await verify(secret, token, SESSION_TOKEN_TYPE, now);
  const claims = {
    app: stringClaim(payload, "app"),
    connection: stringClaim(payload, "cid"),
    exp: payload.exp as number,
  };
  if (claims.app !== expected.app) {
    throw new TokenError("ERR_TOKEN_WRONG_APP", "Token was issued to another app");
  }
  if (claims.connection !== expected.connection) {
    throw new TokenError("ERR_TOKEN_WRONG_CONNECTION", "Token was issued to another connection");
  }
  return claims;
}

/**
 * Verifies a token presented over HTTP, which may be either kind: an app
 * token, or a session token (checked for signature and expiry; there is no
 * connection to bind it to). Returns the app. Throws {@link TokenError}.
 *
 * @example const { app } = await verifyBearerToken(secret, bearer);
 */
export async function verifyBearerToken(secret: string, token: unknown, now = new Date()): Promise<AppTokenClaims> {
  try {
    return await verifyAppToken(secret, token, now);
  } catch (error) {
    if (!(error instanceof TokenError) || error.code !== "ERR_TOKEN_WRONG_TYPE") throw error;
  }
  const payload = await verify(secret, token, SESSION_TOKEN_TYPE, now);
  return { app: stringClaim(payload, "app") };
}

async function verify(secret: string, token: unknown, typ: string, now: Date): Promise<Record<string, unknown>> {
  // The same code as the handshake's for a room without a token (src/http/socket-route.ts).
  if (token === undefined || token === null || token === "")
    throw new TokenError("ERR_TOKEN_MISSING", "Token is missing");
  if (typeof token !== "string") throw new TokenError("ERR_TOKEN_MALFORMED", "Token is not a string");
  try {
    const { payload } = await jwtVerify(token, await keyFor(secret), {
      algorithms: [ALGORITHM],
      typ,
      currentDate: now,
      // Zero tolerance: tests freeze the clock and expect the boundary to be exact.
      clockTolerance: 0,
      requiredClaims: typ === SESSION_TOKEN_TYPE ? ["exp"] : [],
    });
    return payload;
  } catch (error) {
    throw toTokenError(error);
  }
}

/** Translates jose's stable `error.code`s; anything else (not a JWT, another `alg`) is malformed. */
function toTokenError(error: unknown): TokenError {
  if (error instanceof TokenError) return error;
  const jose = error instanceof errors.JOSEError ? (error as errors.AnyJOSEError) : undefined;
  switch (jose?.code) {
    case "ERR_JWT_EXPIRED":
      return new TokenError("ERR_TOKEN_EXPIRED", "Token has expired", { cause: error });
    case "ERR_JWS_SIGNATURE_VERIFICATION_FAILED":
      return new TokenError("ERR_TOKEN_BAD_SIGNATURE", "Token signature is not valid", { cause: error });
    case "ERR_JWT_CLAIM_VALIDATION_FAILED":
      // The `typ` header tells the kinds apart; any other claim failing (a missing `exp`) is malformed.
      if (jose.claim === "typ") {
        return new TokenError("ERR_TOKEN_WRONG_TYPE", "Token is of the wrong kind", { cause: error });
      }
      break;
  }
  return new TokenError("ERR_TOKEN_MALFORMED", "Token is not a valid JWT", { cause: error });
}

function stringClaim(payload: Record<string, unknown>, name: string): string {
  const value = payload[name];
  if (typeof value !== "string" || value === "") {
    throw new TokenError("ERR_TOKEN_MALFORMED", `Token has no "${name}" claim`);
  }
  return value;
}

// Importing an HMAC key costs more than the HMAC itself; every signaling
// request verifies a token, so keep one CryptoKey per secret (one or two per
// isolate, while a secret is rotated).
const keys = new Map<string, Promise<CryptoKey>>();

function keyFor(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
      "verify",
    ]);
    keys.set(secret, key);
  }
  return key;
}
