import type { Context, ErrorHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { ConfigError } from "../config";
import { ApiError, type ApiErrorCode } from "./api-error";
import { fail } from "./envelope";

/**
 * Hono's `onError`: every failure leaves as the documented envelope. Only
 * unexpected errors are logged; their details stay in the log, not the answer.
 */
export const errorsToEnvelope: ErrorHandler = async (error, c) => {
  if (error instanceof ApiError) return fail(c, error.status, error.code, error.message, error.headers);
  if (error instanceof HTTPException) {
    const answered = await fromHonoException(c, error);
    if (answered) return answered;
  }
  if (error instanceof ConfigError) {
    console.error(`[config] ${error.message}`);
    return fail(c, 500, "ERR_NOT_CONFIGURED", `Server is not configured: ${error.message}`);
  }
  console.error(`[http] ${c.req.method} ${new URL(c.req.url).pathname}:`, error);
  return fail(c, 500, "ERR_INTERNAL", "Internal server error");
};

/** The code of an `HTTPException` thrown by Hono's middleware (bearer-auth, body-limit), by its status. */
const CODE_OF_STATUS: Partial<Record<number, ApiErrorCode>> = {
  400: "ERR_INVALID_BODY",
  401: "ERR_UNAUTHORIZED",
  404: "ERR_NOT_FOUND",
  405: "ERR_METHOD_NOT_ALLOWED",
  413: "ERR_BODY_TOO_LARGE",
  415: "ERR_UNSUPPORTED_MEDIA_TYPE",
};

/**
 * The envelope for an `HTTPException` of Hono's: its status, its message (or
 * the text of the response it carries) and that response's headers, such as
 * `WWW-Authenticate`. Null for a status without a code, left to the 500.
 */
async function fromHonoException(c: Context, error: HTTPException): Promise<Response | null> {
  const code = CODE_OF_STATUS[error.status];
  if (code === undefined) return null;
  const headers: Record<string, string> = {};
  error.res?.headers.forEach((value, name) => {
    if (!name.startsWith("content-")) headers[name] = value;
  });
  const message = error.message || (error.res ? await error.res.text() : "") || `HTTP ${error.status}`;
  return fail(c, error.status, code, message, headers);
}
