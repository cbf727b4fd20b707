import type { ErrorHandler } from "hono";
import { ConfigError } from "../config";
import { ApiError } from "./api-error";
import { fail } from "./envelope";

/**
 * Hono's `onError`: every failure leaves as the documented envelope. Only
 * unexpected errors are logged; their details stay in the log, not the answer.
 */
export const errorsToEnvelope: ErrorHandler = (error, c) => {
  if (error instanceof ApiError) return fail(c, error.status, error.code, error.message, error.headers);
  if (error instanceof ConfigError) {
    console.error(`[config] ${error.message}`);
    return fail(c, 500, "ERR_NOT_CONFIGURED", `Server is not configured: ${error.message}`);
  }
  console.error(`[http] ${c.req.method} ${new URL(c.req.url).pathname}:`, error);
  return fail(c, 500, "ERR_INTERNAL", "Internal server error");
};
