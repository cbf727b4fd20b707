import type { Context } from "hono";
import type { Env } from "../env";
import { checkHandshake } from "../protocol/handshake";
import { placementFromQuery, roomObjectName } from "../socket/placement";

/**
 * `GET /socket.io/?EIO=4&transport=websocket[&app=A&room=R]`: checks the
 * Engine.IO handshake and hands the upgrade to the Durable Object it belongs
 * to: the room's object when the query names app and room, otherwise a new
 * object of its own. Refusals are answered at once with HTTP 400 and
 * `{ code, message }`, as engine.io does.
 *
 * @example
 * io("http://127.0.0.1:8787", { transports: ["websocket"], query: { app: "demo", room: "lobby" } });
 */
export async function socketRoute(c: Context<{ Bindings: Env }>): Promise<Response> {
  const url = new URL(c.req.url);
  const refused = checkHandshake(c.req.method, url, c.req.header("upgrade") ?? null);
  if (refused) return c.json(refused, 400);
  const placement = placementFromQuery(url);
  if (!placement.ok) return c.json(placement.error, 400);

  const where = placement.placement;
  const id =
    where.kind === "room" ? c.env.ROOMS.idFromName(roomObjectName(where.app, where.room)) : c.env.ROOMS.newUniqueId();
  return c.env.ROOMS.get(id).fetch(c.req.raw);
}
