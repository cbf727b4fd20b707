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
  if (raw === undefined || raw.trim() === "") return DEFAULT_TOKEN_LIFETIME_SECONDS;
  const seconds = Number(raw);
  if (!Number.isSafeInteger(seconds) || seconds <= 0) {
    throw new ConfigError(`TOKEN_LIFETIME must be a positive whole number of seconds, got "${raw}"`);
  }
  return seconds;
}
