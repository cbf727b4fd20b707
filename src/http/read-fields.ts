import type { Context } from "hono";
import { ApiError } from "./api-error";

/**
 * Reads a request body sent as JSON or as a form (urlencoded or multipart)
 * into a plain record, leaving the checking of each field to the caller.
 *
 * @example
 * const { app, password } = await readFields(c);
 */
export async function readFields(c: Context): Promise<Record<string, unknown>> {
  const type = (c.req.header("content-type") ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  if (type === "application/json" || type.endsWith("+json")) return readJson(c);
  if (type === "application/x-www-form-urlencoded" || type === "multipart/form-data") {
    try {
      return await c.req.parseBody();
    } catch (cause) {
      throw new ApiError(400, "ERR_INVALID_BODY", "Body is not a valid form", { cause });
    }
  }
  throw new ApiError(
    415,
    "ERR_UNSUPPORTED_MEDIA_TYPE",
    "Send the body as application/x-www-form-urlencoded, multipart/form-data or application/json",
  );
}

async function readJson(c: Context): Promise<Record<string, unknown>> {
  let body: unknown;
  try {
    body = await c.req.json();
  } catch (cause) {
    throw new ApiError(400, "ERR_INVALID_BODY", "Body is not valid JSON", { cause });
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ApiError(400, "ERR_INVALID_BODY", "Body must be a JSON object");
  }
  return body as Record<string, unknown>;
}
