import type { Context } from "hono";
import { TokenError } from "../auth/token-error";
import { verifyBearerToken } from "../auth/tokens";
import { readIceSettings, readTokenSecret } from "../config";
import type { Env } from "../env";
import { iceServersFor } from "../ice/ice-servers";
import { ApiError } from "./api-error";
import { ok } from "./envelope";

/**
 * `GET /ice-servers` with `Authorization: Bearer <app or session token>`:
 * the STUN servers, and TURN servers with credentials minted for the token's
 * app that expire after `TURN_TTL` seconds.
 *
 * @example
 * curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8787/ice-servers
 * // { "status": 200, "error": null, "response": { "iceServers": [...], "ttl": 3600 } }
 */
export async function iceServersRoute(c: Context<{ Bindings: Env }>): Promise<Response> {
  const header = c.req.header("authorization") ?? "";
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match) {
    throw new ApiError(401, "ERR_UNAUTHORIZED", "Send an app or session token as Authorization: Bearer <token>", {
      headers: { "WWW-Authenticate": "Bearer" },
    });
  }
  let app: string;
  try {
    app = (await verifyBearerToken(readTokenSecret(c.env), match[1])).app;
  } catch (error) {
    if (!(error instanceof TokenError)) throw error;
    throw new ApiError(401, "ERR_UNAUTHORIZED", `Token is not valid (${error.code})`, {
      headers: { "WWW-Authenticate": 'Bearer error="invalid_token"' },
    });
  }
  const settings = readIceSettings(c.env);
  c.header("Cache-Control", "no-store");
  return ok(c, { iceServers: await iceServersFor(settings, app), ttl: settings.turnTtlSeconds });
}
