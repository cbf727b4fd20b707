import { isValidAppName } from "./auth/app-name";
import type { AttemptPolicy } from "./auth/attempt-limit";
import type { Settings } from "./env";
import { type IceSettings, parseUrlList } from "./ice/ice-servers";

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
export function readTokenConfig(env: Settings): TokenConfig {
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
export function readTokenSecret(env: Settings): string {
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

/** Engine.IO heartbeat, frame and signaling limits; each documented in the README. */
export interface SocketConfig {
  /** How often the server pings each socket (ms). One object wake per interval, whatever the socket count. */
  pingInterval: number;
  /** How long a client waits past `pingInterval` for a ping before it gives up on the server (ms). */
  pingTimeout: number;
  /** Largest WebSocket frame accepted (bytes), advertised as Engine.IO's `maxPayload`; larger ones close the socket with 1009. */
  maxFrameBytes: number;
  /** Largest `payload` field of a request (bytes of JSON). */
  maxPayloadBytes: number;
  /** Largest `peerinfo` (bytes of JSON); it lives in the socket's 16 KiB attachment. */
  maxPeerinfoBytes: number;
  /** Most members in one room. */
  maxRoomMembers: number;
  /** Most join requests awaiting one room's owner. */
  maxPendingRequests: number;
  /** Most rooms one connection may be in or ask to join at once. */
  maxRoomsPerSocket: number;
  /** Frames per second a socket may send, sustained. */
  rateLimitPerSecond: number;
  /** Frames a socket may send in one burst; as many refused in a row close it. */
  rateLimitBurst: number;
  /** How long a join request waits for the owner before the candidate is turned away (ms). */
  joinRequestTimeout: number;
  /** Session token lifetime (seconds). */
  tokenLifetimeSeconds: number;
  /** How long a socket may stay without a successful `auth-request` before it is closed (ms). */
  authTimeout: number;
  /** Most sockets one Durable Object accepts; more are refused at the upgrade (503). */
  maxSocketsPerObject: number;
  /** How long a recoverable session whose connection dropped waits for its client (ms). */
  recoveryWindow: number;
  /** Most events kept for a recoverable session (the last ones sent, and those missed while dropped). */
  recoveryMaxEvents: number;
  /** Most bytes of such events. */
  recoveryMaxBytes: number;
  /** Most dropped sessions one object keeps for their clients at once; past it, a drop ends the session. */
  recoveryMaxSessions: number;
  /** Most bytes of events all the dropped sessions of one object keep together. */
  recoveryMaxObjectBytes: number;
}

export const SOCKET_DEFAULTS = {
  pingInterval: 60_000,
  pingTimeout: 30_000,
  // Socket.IO's own maxHttpBufferSize (1e6): a frame its server would read is read and answered here too.
  maxFrameBytes: 1_000_000,
  maxPayloadBytes: 8_192,
  maxPeerinfoBytes: 4_096,
  maxRoomMembers: 32,
  maxPendingRequests: 32,
  maxRoomsPerSocket: 16,
  rateLimitPerSecond: 50,
  rateLimitBurst: 200,
  joinRequestTimeout: 120_000,
  authTimeout: 30_000,
  maxSocketsPerObject: 128,
  recoveryWindow: 30_000,
  recoveryMaxEvents: 256,
  recoveryMaxBytes: 262_144,
  recoveryMaxSessions: 64,
  recoveryMaxObjectBytes: 4_194_304,
} as const;

/**
 * Reads the socket settings; unset means the default, a bad value is a ConfigError.
 *
 * @example readSocketConfig(env).pingInterval // 60000 unless PING_INTERVAL_MS is set
 */
export function readSocketConfig(env: Settings): SocketConfig {
  const d = SOCKET_DEFAULTS;
  return {
    pingInterval: positiveInteger("PING_INTERVAL_MS", env.PING_INTERVAL_MS, d.pingInterval),
    pingTimeout: positiveInteger("PING_TIMEOUT_MS", env.PING_TIMEOUT_MS, d.pingTimeout),
    maxFrameBytes: positiveInteger("MAX_FRAME_BYTES", env.MAX_FRAME_BYTES, d.maxFrameBytes),
    maxPayloadBytes: positiveInteger("MAX_PAYLOAD_BYTES", env.MAX_PAYLOAD_BYTES, d.maxPayloadBytes),
    // The attachment holds at most 16 KiB, with the rest of the connection's state.
    maxPeerinfoBytes: Math.min(
      positiveInteger("MAX_PEERINFO_BYTES", env.MAX_PEERINFO_BYTES, d.maxPeerinfoBytes),
      8_192,
    ),
    maxRoomMembers: positiveInteger("MAX_ROOM_MEMBERS", env.MAX_ROOM_MEMBERS, d.maxRoomMembers),
    maxPendingRequests: positiveInteger("MAX_PENDING_REQUESTS", env.MAX_PENDING_REQUESTS, d.maxPendingRequests),
    // Room names ride in the attachment too: 16 of 128 characters, twice, is 4 KiB at most.
    maxRoomsPerSocket: Math.min(
      positiveInteger("MAX_ROOMS_PER_SOCKET", env.MAX_ROOMS_PER_SOCKET, d.maxRoomsPerSocket),
      16,
    ),
    rateLimitPerSecond: positiveInteger("RATE_LIMIT_PER_SECOND", env.RATE_LIMIT_PER_SECOND, d.rateLimitPerSecond),
    rateLimitBurst: positiveInteger("RATE_LIMIT_BURST", env.RATE_LIMIT_BURST, d.rateLimitBurst),
    joinRequestTimeout: positiveInteger("JOIN_REQUEST_TIMEOUT_MS", env.JOIN_REQUEST_TIMEOUT_MS, d.joinRequestTimeout),
    tokenLifetimeSeconds: parseTokenLifetime(env.TOKEN_LIFETIME),
    authTimeout: positiveInteger("AUTH_TIMEOUT_MS", env.AUTH_TIMEOUT_MS, d.authTimeout),
    maxSocketsPerObject: positiveInteger("MAX_SOCKETS_PER_OBJECT", env.MAX_SOCKETS_PER_OBJECT, d.maxSocketsPerObject),
    recoveryWindow: positiveInteger("RECOVERY_WINDOW_MS", env.RECOVERY_WINDOW_MS, d.recoveryWindow),
    recoveryMaxEvents: positiveInteger("RECOVERY_MAX_EVENTS", env.RECOVERY_MAX_EVENTS, d.recoveryMaxEvents),
    recoveryMaxBytes: positiveInteger("RECOVERY_MAX_BYTES", env.RECOVERY_MAX_BYTES, d.recoveryMaxBytes),
    recoveryMaxSessions: positiveInteger("RECOVERY_MAX_SESSIONS", env.RECOVERY_MAX_SESSIONS, d.recoveryMaxSessions),
    recoveryMaxObjectBytes: positiveInteger(
      "RECOVERY_MAX_OBJECT_BYTES",
      env.RECOVERY_MAX_OBJECT_BYTES,
      d.recoveryMaxObjectBytes,
    ),
  };
}

/**
 * How many failed `POST /app` attempts one address may make, and in what window.
 *
 * @example readAttemptPolicy({}) // { maxFailures: 10, windowMs: 600000 }
 */
export function readAttemptPolicy(env: Settings): AttemptPolicy {
  return {
    maxFailures: positiveInteger("APP_AUTH_MAX_FAILURES", env.APP_AUTH_MAX_FAILURES, 10),
    windowMs: positiveInteger("APP_AUTH_WINDOW_SECONDS", env.APP_AUTH_WINDOW_SECONDS, 600) * 1000,
  };
}

/**
 * The ceiling on failed `POST /app` attempts from all addresses together, in
 * the same window: it bounds guessing from many addresses at once.
 *
 * @example readGlobalAttemptPolicy({}) // { maxFailures: 1000, windowMs: 600000 }
 */
export function readGlobalAttemptPolicy(env: Settings): AttemptPolicy {
  return {
    maxFailures: positiveInteger("APP_AUTH_GLOBAL_MAX_FAILURES", env.APP_AUTH_GLOBAL_MAX_FAILURES, 1000),
    windowMs: readAttemptPolicy(env).windowMs,
  };
}

/** Default lifetime of minted TURN credentials: one hour. */
export const DEFAULT_TURN_TTL_SECONDS = 3_600;

/**
 * Reads the ICE settings: STUN and TURN URLs, the TURN shared secret and the
 * credential lifetime. TURN URLs without a secret (or the reverse) is a
 * ConfigError, as is a URL of another scheme.
 *
 * @example readIceSettings({ STUN_URLS: "stun:stun.example.org:3478" }) // { stunUrls: [...], turnUrls: [], ... }
 */
export function readIceSettings(env: Settings): IceSettings {
  const stunUrls = parseUrlList(env.STUN_URLS);
  const turnUrls = parseUrlList(env.TURN_URLS);
  for (const url of stunUrls) {
    if (!/^stuns?:/.test(url)) throw new ConfigError(`STUN_URLS must hold stun: or stuns: URLs, got "${url}"`);
  }
  for (const url of turnUrls) {
    if (!/^turns?:/.test(url)) throw new ConfigError(`TURN_URLS must hold turn: or turns: URLs, got "${url}"`);
  }
  const turnSecret = env.TURN_SECRET || null;
  if (turnUrls.length > 0 && !turnSecret) throw new ConfigError("TURN_URLS is set but TURN_SECRET is not");
  return {
    stunUrls,
    turnUrls,
    turnSecret,
    turnTtlSeconds: positiveInteger("TURN_TTL", env.TURN_TTL, DEFAULT_TURN_TTL_SECONDS),
  };
}

/**
 * The app whose tokens the demo page may fetch without a password, or null
 * when the demo is off (the default outside local runs).
 *
 * @example readDemoApp({ DEMO_APP: "demo" }) // "demo"
 */
export function readDemoApp(env: Settings): string | null {
  const app = env.DEMO_APP?.trim();
  if (!app) return null;
  if (!isValidAppName(app)) throw new ConfigError(`DEMO_APP must be a valid app name, got "${app}"`);
  return app;
}

function positiveInteger(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw.trim() === "") return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new ConfigError(`${name} must be a positive whole number, got "${raw}"`);
  }
  return value;
}
