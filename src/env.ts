/**
 * What the worker receives from the runtime: the bindings declared in
 * wrangler.toml, typed by `wrangler types` in worker-configuration.d.ts
 * (`Cloudflare.Env`; rerun `npm run types` after changing wrangler.toml), and
 * the settings below, which this code reads as optional strings.
 *
 * Secrets (`BACKEND_PASSWORD`, `TOKEN_SECRET`) come from `wrangler secret put`
 * in production and from the committed, local-only `.dev.vars` in `npm start`
 * and tests. They are optional here because a deployment may forget them; the
 * code that needs them refuses to work without them (see `config.ts`).
 */
export type Env = Omit<Cloudflare.Env, keyof Settings> & Settings;

/** Secrets and vars, each optional: unset means the default, or, for a secret, "not configured". */
export interface Settings {
  /** New sockets per client address (IPv6: per /64), a rate-limiting binding; absent: no limit. */
  UPGRADE_LIMITER?: RateLimit;
  /** Password a backend presents to `POST /app` to obtain an app token. */
  BACKEND_PASSWORD?: string;
  /** HS256 key for app and session tokens; at least 32 characters. */
  TOKEN_SECRET?: string;
  /** Session token lifetime in seconds (default 86400). */
  TOKEN_LIFETIME?: string;
  /** Engine.IO ping interval in ms (default 60000). */
  PING_INTERVAL_MS?: string;
  /** Engine.IO ping timeout in ms (default 30000). */
  PING_TIMEOUT_MS?: string;
  /** Largest WebSocket frame in bytes (default 1000000, Socket.IO's own), Engine.IO's maxPayload. */
  MAX_FRAME_BYTES?: string;
  /** Largest `payload` field of a request in bytes of JSON (default 8192). */
  MAX_PAYLOAD_BYTES?: string;
  /** Largest peerinfo in bytes of JSON (default 4096, at most 8192). */
  MAX_PEERINFO_BYTES?: string;
  /** Most members in one room (default 32). */
  MAX_ROOM_MEMBERS?: string;
  /** Most join requests awaiting one room's owner (default 32). */
  MAX_PENDING_REQUESTS?: string;
  /** Most rooms one connection may be in or ask to join (default 16, at most 16). */
  MAX_ROOMS_PER_SOCKET?: string;
  /** Frames per second a socket may send, sustained (default 50). */
  RATE_LIMIT_PER_SECOND?: string;
  /** Frames a socket may send in one burst (default 200). */
  RATE_LIMIT_BURST?: string;
  /** How long a join request waits for the owner, in ms (default 120000). */
  JOIN_REQUEST_TIMEOUT_MS?: string;
  /** How long a socket may go without a successful auth-request, in ms (default 30000). */
  AUTH_TIMEOUT_MS?: string;
  /** How long a dropped recoverable session waits for its client, in ms (default 30000). */
  RECOVERY_WINDOW_MS?: string;
  /** Most events kept per recoverable session (default 256). */
  RECOVERY_MAX_EVENTS?: string;
  /** Most bytes of events kept per recoverable session (default 262144). */
  RECOVERY_MAX_BYTES?: string;
  /** Most dropped sessions one object keeps at once (default 64). */
  RECOVERY_MAX_SESSIONS?: string;
  /** Most bytes of events the dropped sessions of one object keep together (default 4194304). */
  RECOVERY_MAX_OBJECT_BYTES?: string;
  /** Most sockets one Durable Object accepts (default 128). */
  MAX_SOCKETS_PER_OBJECT?: string;
  /** "off": skip UPGRADE_LIMITER (for benchmarks that open thousands of sockets from one address). */
  UPGRADE_LIMIT?: string;
  /** STUN server URLs for /ice-servers, comma- or space-separated. */
  STUN_URLS?: string;
  /** TURN server URLs for /ice-servers, comma- or space-separated. */
  TURN_URLS?: string;
  /** Shared secret of the TURN server (coturn `static-auth-secret`). */
  TURN_SECRET?: string;
  /** Lifetime of minted TURN credentials in seconds (default 3600). */
  TURN_TTL?: string;
  /** Failed POST /app attempts allowed per client address and window (default 10). */
  APP_AUTH_MAX_FAILURES?: string;
  /** That window, in seconds (default 600). */
  APP_AUTH_WINDOW_SECONDS?: string;
  /** Failed POST /app attempts allowed from all addresses together in that window (default 1000). */
  APP_AUTH_GLOBAL_MAX_FAILURES?: string;
  /** Lifecycle log lines: "ends" (default: socket-close, room-deleted), "on" (also socket-open, room-created), "off". */
  LOG_LIFECYCLE?: string;
  /** "true": log one line per object wake (message, alarm, RPC), to measure idle cost. */
  LOG_WAKES?: string;
  /** App whose tokens `/demo/token` hands out without a password; unset turns the demo off. */
  DEMO_APP?: string;
}
