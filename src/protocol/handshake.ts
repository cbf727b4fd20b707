/**
 * The Engine.IO handshake: which upgrade requests are served, and the error
 * table (the same codes and messages as the `engine.io` server) for the rest.
 * Errors are answered at once with HTTP 400 and `{ code, message }`.
 */

export const HANDSHAKE_ERRORS = {
  UNKNOWN_TRANSPORT: { code: 0, message: "Transport unknown" },
  UNKNOWN_SID: { code: 1, message: "Session ID unknown" },
  BAD_HANDSHAKE_METHOD: { code: 2, message: "Bad handshake method" },
  BAD_REQUEST: { code: 3, message: "Bad request" },
  FORBIDDEN: { code: 4, message: "Forbidden" },
  UNSUPPORTED_PROTOCOL_VERSION: { code: 5, message: "Unsupported protocol version" },
} as const;

export interface HandshakeError {
  code: number;
  message: string;
  /** Extra detail for a human, beyond engine.io's fixed message. */
  detail?: string;
  /** A stable code a client can switch on, where engine.io's numeric code is too coarse (401s). */
  reason?: string;
}

/** The path Socket.IO clients use by default. */
export const ENGINE_PATH = "/socket.io/";

/**
 * Checks an upgrade request to {@link ENGINE_PATH}; `null` means serve it.
 *
 * @example
 * checkHandshake("GET", new URL("http://h/socket.io/?EIO=4&transport=polling"), null);
 * // { code: 0, message: "Transport unknown", detail: "..." }
 */
export function checkHandshake(method: string, url: URL, upgradeHeader: string | null): HandshakeError | null {
  const transport = url.searchParams.get("transport");
  if (transport !== "websocket") {
    return {
      ...HANDSHAKE_ERRORS.UNKNOWN_TRANSPORT,
      detail: 'Only the websocket transport is served; create the client with { transports: ["websocket"] }',
    };
  }
  const version = url.searchParams.get("EIO");
  if (version !== "4") {
    return {
      ...HANDSHAKE_ERRORS.UNSUPPORTED_PROTOCOL_VERSION,
      detail: "Only Engine.IO 4 (Socket.IO v3 and v4 clients)",
    };
  }
  if (url.searchParams.has("sid")) {
    // A websocket upgrade of a polling session that never existed here.
    return { ...HANDSHAKE_ERRORS.UNKNOWN_SID, detail: "There are no polling sessions to upgrade" };
  }
  if (method !== "GET") return { ...HANDSHAKE_ERRORS.BAD_HANDSHAKE_METHOD };
  if (upgradeHeader?.toLowerCase() !== "websocket") {
    return { ...HANDSHAKE_ERRORS.BAD_REQUEST, detail: "Expected a WebSocket upgrade (Upgrade: websocket)" };
  }
  return null;
}
