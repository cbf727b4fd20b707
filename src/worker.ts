import { Hono } from "hono";
import type { Env } from "./env";
import type { AppEnv } from "./http/app-env";
import { appTokenRoute } from "./http/app-token-route";
import { demoTokenRoute } from "./http/demo-token-route";
import { fail } from "./http/envelope";
import { errorsToEnvelope } from "./http/errors-to-envelope";
import { iceServersRoute } from "./http/ice-servers-route";
import { methodNotAllowedEnvelope } from "./http/method-not-allowed";
import { socketRoute } from "./http/socket-route";
import { ENGINE_PATH } from "./protocol/handshake";

/**
 * The HTTP half of the service. Static files in `public/` are served by the
 * runtime before this app runs; everything else lands here.
 */
export const app = new Hono<AppEnv>();

app
  // Turns the 404 of a known path asked with another method into 405 and Allow, from the routes below.
  .use(methodNotAllowedEnvelope(app))
  .get("/health", (c) => c.json({ status: "ok", service: "edge-signaling" }))
  .route("/app", appTokenRoute)
  .route("/ice-servers", iceServersRoute)
  .get("/demo/token", demoTokenRoute)
  // Socket.IO clients ask for "/socket.io/"; some others drop the slash.
  .all(ENGINE_PATH, socketRoute)
  .all("/socket.io", socketRoute)
  .notFound(async (c) => {
    // The runtime serves public/ before the worker runs; asking the assets
    // again here keeps /demo and its files working wherever the worker runs
    // first (tests, or `run_worker_first`).
    if (c.req.method === "GET" || c.req.method === "HEAD") {
      const asset = await c.env.ASSETS.fetch(c.req.raw);
      if (asset.status !== 404) return asset;
    }
    return fail(c, 404, "ERR_NOT_FOUND", `No route for ${c.req.method} ${new URL(c.req.url).pathname}`);
  })
  .onError(errorsToEnvelope);

export default app satisfies ExportedHandler<Env>;

export { AppTokenThrottle } from "./durable/app-token-throttle";
export { Room } from "./durable/room-object";
