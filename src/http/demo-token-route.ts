import type { Context } from "hono";
import { signAppToken } from "../auth/tokens";
import { readDemoApp, readTokenSecret } from "../config";
import { ApiError } from "./api-error";
import type { AppEnv } from "./app-env";
import { ok } from "./envelope";

/**
 * `GET /demo/token`: an app token for the demo app, so the demo page works
 * without anyone pasting a token and without the backend password ever
 * reaching a browser. Only when `DEMO_APP` names an app (local runs set it in
 * `.dev.vars`); otherwise 404. The demo app is a tenant like any other: its
 * rooms never meet another app's.
 *
 * @example fetch("/demo/token").then((r) => r.json()) // { status: 200, response: { app: "demo", token } }
 */
export async function demoTokenRoute(c: Context<AppEnv>): Promise<Response> {
  const app = readDemoApp(c.env);
  if (!app) throw new ApiError(404, "ERR_DEMO_DISABLED", "The demo is off: set DEMO_APP to enable it");
  c.header("Cache-Control", "no-store");
  return ok(c, { app, token: await signAppToken(readTokenSecret(c.env), app) });
}
