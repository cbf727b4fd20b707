import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { APP_NAME_RULE, isValidAppName } from "../auth/app-name";
import { addressKey } from "../auth/client-address";
import { passwordsMatch } from "../auth/password";
import { signAppToken } from "../auth/tokens";
import { readAttemptPolicy, readGlobalAttemptPolicy, readTokenConfig } from "../config";
import type { Env } from "../env";
import { ApiError } from "./api-error";
import type { AppEnv } from "./app-env";
import { ok } from "./envelope";
import { readFields } from "./read-fields";

/** An app name and a password fit in far less; anything bigger is not a real client. */
export const MAX_APP_REQUEST_BYTES = 4096;

/** The throttle instance that counts failed attempts from every address together. */
export const GLOBAL_THROTTLE = "global";

/**
 * `POST /app`: trades the backend password for a non-expiring app token.
 *
 * @example
 * curl -X POST http://127.0.0.1:8787/app --data-urlencode app=demo-chat-test \
 *   --data-urlencode password=demo-chat-password
 */
export const appTokenRoute = new Hono<AppEnv>().post(
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

    // Counted as a failure before the password is checked, so guesses sent
    // in parallel cannot overtake the count.
    const attempt = await reserveInThrottles(c.env, c.req.header("cf-connecting-ip"));
    if (!(await passwordsMatch(password, config.backendPassword))) {
      throw new ApiError(401, "ERR_WRONG_PASSWORD", "Password is not valid");
    }
    await attempt.succeeded();
    return ok(c, { token: await signAppToken(config.tokenSecret, app) });
  },
);

/** A granted attempt whose password has yet to be checked; a wrong one needs no call. */
interface Attempt {
  succeeded(): Promise<void>;
}

/**
 * Reserves one attempt in the client address's throttle, then in the global
 * one, across every worker instance; throws a 429 if either refuses.
 *
 * @example
 * const attempt = await reserveInThrottles(c.env, c.req.header("cf-connecting-ip"));
 * if (await passwordsMatch(password, expected)) await attempt.succeeded();
 */
async function reserveInThrottles(env: Env, connectingIp: string | undefined): Promise<Attempt> {
  const perAddress = readAttemptPolicy(env);
  const global = readGlobalAttemptPolicy(env);
  const throttles = env.APP_TOKEN_THROTTLE;
  const own = throttles.get(throttles.idFromName(addressKey(connectingIp)));
  const all = throttles.get(throttles.idFromName(GLOBAL_THROTTLE));

  const ownPermit = await own.reserve(perAddress);
  if (!ownPermit.granted) throw tooManyAttempts(ownPermit.retryAfterMs);
  const allPermit = await all.reserve(global);
  if (!allPermit.granted) {
    // No password was checked: the refusal costs the address nothing.
    await own.release(ownPermit.at);
    throw tooManyAttempts(allPermit.retryAfterMs);
  }
  return {
    async succeeded() {
      // The address starts afresh; the ceiling gets back this attempt only, so
      // a backend's correct logins never wipe out other addresses' failures.
      await Promise.all([own.succeeded(), all.release(allPermit.at)]);
    },
  };
}

function tooManyAttempts(waitMs: number): ApiError {
  const seconds = Math.ceil(waitMs / 1000);
  return new ApiError(429, "ERR_TOO_MANY_ATTEMPTS", `Too many failed attempts; try again in ${seconds} s`, {
    headers: { "Retry-After": String(seconds) },
  });
}

function missing(field: string): ApiError {
  return new ApiError(400, "ERR_MISSING_FIELD", `${field} is required`);
}
