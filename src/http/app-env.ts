import type { Env } from "../env";

/**
 * The Hono environment of the worker and of every route group: the runtime's
 * bindings as `c.env`.
 *
 * @example export const appTokenRoute = new Hono<AppEnv>().post("/", handler);
 */
export interface AppEnv {
  Bindings: Env;
}
