import type { Env } from "./env";

/** Default session token lifetime: one day, as documented in the README. */
export const DEFAULT_TOKEN_LIFETIME_SECONDS = 86_400;

/** HS256 wants a key of at least 256 bits (RFC 7518, section 3.2). */
export const MIN_TOKEN_SECRET_LENGTH = 32;

/**
 * A deployment is missing a secret or has an unusable setting. Raised instead
 * of falling back to a default, so a forgotten `wrangler secret put` is loud.
 */
export class ConfigError extends Error {
  readonly code = "ERR_NOT_CONFIGURED";
  override name = "ConfigError";
}

/** The settings token issuing needs, checked once per request. */
export interface TokenConfig {
  backendPassword: string;
  tokenSecret: string;
  tokenLifetimeSeconds: number;
}

/**
 * Reads and checks the token settings.
 *
 * @example
 * const { tokenSecret } = readTokenConfig(c.env); // throws ConfigError if unset
 */
export function readTokenConfig(env: Env): TokenConfig {
  const backendPassword = env.BACKEND_PASSWORD;
  if (!backendPassword) {
    throw new ConfigError("BACKEND_PASSWORD is not set (use `wrangler secret put BACKEND_PASSWORD`)");
  }
  return {
    backendPassword,
    tokenSecret: readTokenSecret(env),
    tokenLifetimeSeconds: parseTokenLifetime(env.TOKEN_LIFETIME),
  };
}

/** The token secret alone, for code that verifies tokens but never checks passwords. */
export function readTokenSecret(env: Env): string {
  const secret = env.TOKEN_SECRET;
  if (!secret) {
    throw new ConfigError("TOKEN_SECRET is not set (use `wrangler secret put TOKEN_SECRET`)");
  }
  if (secret.length < MIN_TOKEN_SECRET_LENGTH) {
    throw new ConfigError(`TOKEN_SECRET must be at least ${MIN_TOKEN_SECRET_LENGTH} characters`);
  }
  return secret;
}

/**
 * Parses `TOKEN_LIFETIME` (whole seconds). Unset means the default; anything
 * that is not a positive integer is a configuration error, not a silent default.
 *
 * @example
 * parseTokenLifetime("3600"); // 3600
 * parseTokenLifetime(undefined); // 86400
 */
export function parseTokenLifetime(raw: string | undefined): number {
  return positiveInteger("TOKEN_LIFETIME", raw, DEFAULT_TOKEN_LIFETIME_SECONDS);
}

/** Engine.IO heartbeat and frame limits; each documented in the README. */
export interface SocketConfig {
  /** How often the server pings each socket (ms). One object wake per interval, whatever the socket count. */
  pingInterval: number;
  /** How long a client waits past `pingInterval` for a ping before it gives up on the server (ms). */
  pingTimeout: number;
  /** Largest WebSocket frame accepted (bytes); larger ones close the socket with 1009. */
  maxPayload: number;
  /** Largest `peerinfo` (bytes of JSON); it lives in the socket's 16 KiB attachment. */
  maxPeerinfoBytes: number;
  /** Session token lifetime (seconds). */
  tokenLifetimeSeconds: number;
}

export const SOCKET_DEFAULTS = {
  pingInterval: 60_000,
  pingTimeout: 30_000,
  maxPayload: 65_536,
  maxPeerinfoBytes: 4_096,
} as const;

/**
 * Reads the socket settings; unset means the default, a bad value is a ConfigError.
 *
 * @example readSocketConfig(env).pingInterval // 60000 unless PING_INTERVAL_MS is set
 */
export function readSocketConfig(env: Env): SocketConfig {
  return {
    pingInterval: positiveInteger("PING_INTERVAL_MS", env.PING_INTERVAL_MS, SOCKET_DEFAULTS.pingInterval),
    pingTimeout: positiveInteger("PING_TIMEOUT_MS", env.PING_TIMEOUT_MS, SOCKET_DEFAULTS.pingTimeout),
    maxPayload: positiveInteger("MAX_PAYLOAD_BYTES", env.MAX_PAYLOAD_BYTES, SOCKET_DEFAULTS.maxPayload),
    maxPeerinfoBytes: Math.min(
      positiveInteger("MAX_PEERINFO_BYTES", env.MAX_PEERINFO_BYTES, SOCKET_DEFAULTS.maxPeerinfoBytes),
      // The attachment holds at most 16 KiB, and the rest of the connection's state too.
      8_192,
    ),
    tokenLifetimeSeconds: parseTokenLifetime(env.TOKEN_LIFETIME),
  };
}

function positiveInteger(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw.trim() === "") return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new ConfigError(`${name} must be a positive whole number, got "${raw}"`);
  }
  return value;
}
