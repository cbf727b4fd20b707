import type { Hono, MiddlewareHandler } from "hono";
import { methodNotAllowed } from "hono/method-not-allowed";
import type { AppEnv } from "./app-env";
import { fail } from "./envelope";

/**
 * Hono's method-not-allowed middleware, answering in the envelope: a path
 * that exists but not for this method gets `405` and an `Allow` header listing
 * the methods of `app`'s routes for it (GET brings HEAD), instead of a
 * misleading 404.
 *
 * @example
 * const app = new Hono<AppEnv>();
 * app.use(methodNotAllowedEnvelope(app)).post("/app", issueToken); // GET /app: 405, Allow: POST
 */
export function methodNotAllowedEnvelope(app: Hono<AppEnv>): MiddlewareHandler<AppEnv> {
  return methodNotAllowed({
    app,
    onMethodNotAllowed: (c, methods) => {
      const allow = methods.join(", ");
      return fail(c, 405, "ERR_METHOD_NOT_ALLOWED", `${c.req.method} is not allowed here; use ${allow}`, {
        Allow: allow,
      });
    },
  });
}
