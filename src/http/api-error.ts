import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/** Stable codes of the HTTP API's errors; the README's table lists each with its status. */
export type ApiErrorCode =
  | "ERR_INVALID_BODY"
  | "ERR_MISSING_FIELD"
  | "ERR_INVALID_APP_NAME"
  | "ERR_WRONG_PASSWORD"
  | "ERR_UNAUTHORIZED"
  | "ERR_TOO_MANY_ATTEMPTS"
  | "ERR_DEMO_DISABLED"
  | "ERR_NOT_FOUND"
  | "ERR_METHOD_NOT_ALLOWED"
  | "ERR_BODY_TOO_LARGE"
  | "ERR_UNSUPPORTED_MEDIA_TYPE"
  | "ERR_NOT_CONFIGURED"
  | "ERR_INTERNAL";

/**
 * Hono's `HTTPException` with a stable code: `onError` turns it into the
 * `{ status, error, response }` envelope. Hono's own middleware throws plain
 * `HTTPException`s, which get a code from their status there.
 *
 * @example
 * throw new ApiError(401, "ERR_WRONG_PASSWORD", "Password is not valid");
 */
export class ApiError extends HTTPException {
  override name = "ApiError";

  constructor(
    status: ContentfulStatusCode,
    readonly code: ApiErrorCode,
    message: string,
    options?: { cause?: unknown; headers?: Record<string, string> },
  ) {
    super(status, { message, cause: options?.cause });
    this.headers = options?.headers ?? {};
  }

  /** Extra response headers, such as `Retry-After` on a 429. */
  readonly headers: Record<string, string>;
}
