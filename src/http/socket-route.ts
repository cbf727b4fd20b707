import type { Context } from "hono";
import { addressKey } from "../auth/client-address";
import { TokenError } from "../auth/token-error";
import { verifyAppToken } from "../auth/tokens";
import { readTokenSecret } from "../config";
import { checkHandshake, HANDSHAKE_ERRORS, type HandshakeError } from "../protocol/handshake";
import { placementFromQuery, roomObjectName } from "../socket/placement";
import type { AppEnv } from "./app-env";

/**
 * `GET /socket.io/?EIO=4&transport=websocket[&app=A&room=R&token=T]`: checks
 * the Engine.IO handshake and hands the upgrade to the Durable Object it
 * belongs to: the room's object when the query names app and room, otherwise
 * a new object of its own. Refusals are answered at once with HTTP 400 and
 * `{ code, message }`, as engine.io does.
 *
 * A socket that names a room must prove its app first, with the app token in
 * the query: the room's object is shared by everyone in the room, so a
 * stranger must not reach it at all (not even to be refused there). A
 * missing, bad or foreign token is answered 401 here and the object never wakes.
 *
 * @example
 * io("http://127.0.0.1:8787", { transports: ["websocket"], query: { app: "demo", room: "lobby", token: appToken } });
 */
export async function socketRoute(c: Context<AppEnv>): Promise<Response> {
  const url = new URL(c.req.url);
  const refused = checkHandshake(c.req.method, url, c.req.header("upgrade") ?? null);
  if (refused) return c.json(refused, 400);
  const placement = placementFromQuery(url);
  if (!placement.ok) return c.json(placement.error, 400);
  if (c.env.UPGRADE_LIMITER && c.env.UPGRADE_LIMIT !== "off") {
    const { success } = await c.env.UPGRADE_LIMITER.limit({ key: addressKey(c.req.header("cf-connecting-ip")) });
    if (!success) {
      const refused: HandshakeError = {
        ...HANDSHAKE_ERRORS.FORBIDDEN,
        reason: "ERR_TOO_MANY_SOCKETS",
        detail: "Too many new connections from this address; try again in a few seconds",
      };
      return c.json(refused, 429, { "Retry-After": "10" });
    }
  }

  const where = placement.placement;
  if (where.kind === "room") {
    const denied = await checkRoomToken(readTokenSecret(c.env), url.searchParams.get("token"), where.app);
    if (denied) return c.json(denied, 401);
  }
  const id =
    where.kind === "room" ? c.env.ROOMS.idFromName(roomObjectName(where.app, where.room)) : c.env.ROOMS.newUniqueId();
  return c.env.ROOMS.get(id).fetch(c.req.raw);
}

/** Null when `token` is a valid app token of `app`; otherwise the handshake error to answer. */
async function checkRoomToken(secret: string, token: string | null, app: string): Promise<HandshakeError | null> {
  if (token === null || token === "") {
    return forbidden("ERR_TOKEN_MISSING", "A room in the query needs the app token too: query: { app, room, token }");
  }
  try {
    const claims = await verifyAppToken(secret, token);
    if (claims.app === app) return null;
    return forbidden("ERR_TOKEN_WRONG_APP", "The token in the query belongs to another app");
  } catch (error) {
    if (!(error instanceof TokenError)) throw error;
    return forbidden(error.code, "The token in the query is not a valid app token");
  }
}

function forbidden(reason: string, detail: string): HandshakeError {
  return { ...HANDSHAKE_ERRORS.FORBIDDEN, detail, reason };
}
