import type { MiddlewareHandler } from "hono";
import { ApiError } from "./api-error";

/**
 * A catch-all handler for a path that exists but not for this method, so the
 * client learns about `Allow` instead of a misleading 404.
 *
 * @example
 * app.post("/app", issueToken);
 * app.all("/app", methodNotAllowed(["POST"]));
 */
export function methodNotAllowed(allowed: readonly string[]): MiddlewareHandler {
  const allow = allowed.join(", ");
  return (c) => {
    throw new ApiError(405, "ERR_METHOD_NOT_ALLOWED", `${c.req.method} is not allowed here; use ${allow}`, {
      headers: { Allow: allow },
    });
  };
}
