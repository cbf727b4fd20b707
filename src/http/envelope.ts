import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ApiErrorCode } from "./api-error";

/**
 * Every HTTP answer of the API, as in the original server:
 * `{ "status": 200, "error": null, "response": { ... } }` on success and
 * `{ "status": 401, "error": { "code": "...", "message": "..." }, "response": null }` on failure.
 * `status` repeats the HTTP status so that clients reading only the body see it.
 */
export interface Envelope<T> {
  status: number;
  error: { code: ApiErrorCode; message: string } | null;
  response: T | null;
}

/** @example return ok(c, { token }); */
export function ok<T>(c: Context, response: T): Response {
  const body: Envelope<T> = { status: 200, error: null, response };
  return c.json(body, 200);
}

/** @example return fail(c, 404, "ERR_NOT_FOUND", "No route for GET /nope"); */
export function fail(
  c: Context,
  status: ContentfulStatusCode,
  code: ApiErrorCode,
  message: string,
  headers: Record<string, string> = {},
): Response {
  const body: Envelope<never> = { status, error: { code, message }, response: null };
  return c.json(body, status, headers);
}
