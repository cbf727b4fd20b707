import { Hono } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { TokenError, type TokenErrorCode } from "../auth/token-error";
import { verifyBearerToken } from "../auth/tokens";
import { readIceSettings, readTokenSecret } from "../config";
import { iceServersFor } from "../ice/ice-servers";
import type { AppEnv } from "./app-env";
import { ok } from "./envelope";

/** What bearer-auth learnt from the token: its app, or why it was refused. */
interface IceEnv extends AppEnv {
  Variables: { app: string; refused: TokenErrorCode };
}

const ASK_FOR_TOKEN = "Send an app or session token as Authorization: Bearer <token>";

/**
 * `GET /ice-servers` with `Authorization: Bearer <app or session token>`:
 * the STUN servers, and TURN servers with credentials minted for the token's
 * app that expire after `TURN_TTL` seconds. Anything but a valid token is
 * `401 ERR_UNAUTHORIZED` with `WWW-Authenticate`.
 *
 * @example
 * curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8787/ice-servers
 * // { "status": 200, "error": null, "response": { "iceServers": [...], "ttl": 3600 } }
 */
export const iceServersRoute = new Hono<IceEnv>().get(
  "/",
  bearerAuth<IceEnv>({
    verifyToken: async (token, c) => {
      try {
        c.set("app", (await verifyBearerToken(readTokenSecret(c.env), token)).app);
        return true;
      } catch (error) {
        if (!(error instanceof TokenError)) throw error;
        c.set("refused", error.code);
        return false;
      }
    },
    noAuthenticationHeader: { wwwAuthenticateHeader: "Bearer", message: ASK_FOR_TOKEN },
    // bearer-auth answers a header that is not `Bearer <token>` with 400; this
    // API has always said 401 to anything short of a valid token.
    invalidAuthenticationHeader: {
      wwwAuthenticateHeader: "Bearer",
      message: () => new Response(ASK_FOR_TOKEN, { status: 401 }),
    },
    invalidToken: { message: (c) => `Token is not valid (${c.get("refused")})` },
  }),
  async (c) => {
    const settings = readIceSettings(c.env);
    c.header("Cache-Control", "no-store");
    return ok(c, { iceServers: await iceServersFor(settings, c.get("app")), ttl: settings.turnTtlSeconds });
  },
);
