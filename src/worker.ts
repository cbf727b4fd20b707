import { Hono } from "hono";
import type { Env } from "./env";
import { appTokenRoute } from "./http/app-token-route";
import { fail } from "./http/envelope";
import { errorsToEnvelope } from "./http/errors-to-envelope";
import { methodNotAllowed } from "./http/method-not-allowed";
import { socketRoute } from "./http/socket-route";
import { ENGINE_PATH } from "./protocol/handshake";

/**
 * The HTTP half of the service. Static files in `public/` are served by the
 * runtime before this app runs; everything else lands here.
 */
export const app = new Hono<{ Bindings: Env }>()
  .get("/health", (c) => c.json({ status: "ok", service: "edge-signaling" }))
  .all("/health", methodNotAllowed(["GET", "HEAD"]))
  .route("/app", appTokenRoute)
  // Socket.IO clients ask for "/socket.io/"; some others drop the slash.
  .all(ENGINE_PATH, socketRoute)
  .all("/socket.io", socketRoute)
  .notFound((c) => fail(c, 404, "ERR_NOT_FOUND", `No route for ${c.req.method} ${new URL(c.req.url).pathname}`))
  .onError(errorsToEnvelope);

export default app satisfies ExportedHandler<Env>;

export { Room } from "./durable/room";
