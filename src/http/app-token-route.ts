import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { APP_NAME_RULE, isValidAppName } from "../auth/app-name";
import { passwordsMatch } from "../auth/password";
import { signAppToken } from "../auth/tokens";
import { readAttemptPolicy, readTokenConfig } from "../config";
import type { Env } from "../env";
import { ApiError } from "./api-error";
import { ok } from "./envelope";
import { methodNotAllowed } from "./method-not-allowed";
import { readFields } from "./read-fields";

/** An app name and a password fit in far less; anything bigger is not a real client. */
export const MAX_APP_REQUEST_BYTES = 4096;

/**
 * `POST /app`: trades the backend password for a non-expiring app token.
 *
 * @example
 * curl -X POST http://127.0.0.1:8787/app --data-urlencode app=demo-chat-test \
 *   --data-urlencode password=demo-chat-password
 */
export const appTokenRoute = new Hono<{ Bindings: Env }>()
  .post(
    "/",
    bodyLimit({
      maxSize: MAX_APP_REQUEST_BYTES,
      onError: () => {
        throw new ApiError(413, "ERR_BODY_TOO_LARGE", `Body must be at most ${MAX_APP_REQUEST_BYTES} bytes`);
      },
    }),
    async (c) => {
      // Configuration first: a deployment without secrets says so to every
      // caller rather than answering 401 to a correct password.
      const config = readTokenConfig(c.env);
      const { app, password } = await readFields(c);
      if (app === undefined || app === "") throw missing("app");
      if (password === undefined || password === "") throw missing("password");
      if (typeof password !== "string") {
        throw new ApiError(400, "ERR_MISSING_FIELD", "password must be a string");
      }
      if (!isValidAppName(app)) throw new ApiError(400, "ERR_INVALID_APP_NAME", APP_NAME_RULE);

      // Guessing is limited per client address, across every worker instance.
      const policy = readAttemptPolicy(c.env);
      const address = c.req.header("cf-connecting-ip") ?? "unknown";
      const throttle = c.env.APP_TOKEN_THROTTLE.get(c.env.APP_TOKEN_THROTTLE.idFromName(address));
      const waitMs = await throttle.retryAfter(policy);
      if (waitMs > 0) {
        const seconds = Math.ceil(waitMs / 1000);
        throw new ApiError(429, "ERR_TOO_MANY_ATTEMPTS", `Too many failed attempts; try again in ${seconds} s`, {
          headers: { "Retry-After": String(seconds) },
        });
      }
      if (!(await passwordsMatch(password, config.backendPassword))) {
        await throttle.failed(policy);
        throw new ApiError(401, "ERR_WRONG_PASSWORD", "Password is not valid");
      }
      await throttle.succeeded();
      return ok(c, { token: await signAppToken(config.tokenSecret, app) });
    },
  )
  .all("/", methodNotAllowed(["POST"]));

function missing(field: string): ApiError {
  return new ApiError(400, "ERR_MISSING_FIELD", `${field} is required`);
}
