import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { describe, expect, it } from "vitest";
import { ApiError } from "../../src/http/api-error";
import { errorsToEnvelope } from "../../src/http/errors-to-envelope";

/** A tiny app whose one route throws `error`, answered by the project's error handler. */
const answer = async (error: unknown) => {
  const app = new Hono()
    .get("/", () => {
      throw error;
    })
    .onError(errorsToEnvelope);
  const res = await app.request("/");
  return { status: res.status, body: await res.json(), headers: res.headers };
};

describe("errorsToEnvelope", () => {
  it("answers the project's own ApiError with its status, code, message and headers", async () => {
    const res = await answer(
      new ApiError(429, "ERR_TOO_MANY_ATTEMPTS", "slow down", { headers: { "Retry-After": "7" } }),
    );
    expect(res.status).toBe(429);
    expect(res.body).toEqual({
      status: 429,
      error: { code: "ERR_TOO_MANY_ATTEMPTS", message: "slow down" },
      response: null,
    });
    expect(res.headers.get("retry-after")).toBe("7");
  });

  it.each([
    [413, "ERR_BODY_TOO_LARGE"],
    [401, "ERR_UNAUTHORIZED"],
    [405, "ERR_METHOD_NOT_ALLOWED"],
  ])("turns Hono's own HTTPException %i into the envelope with %s, not a 500", async (status, code) => {
    const res = await answer(new HTTPException(status as 413, { message: "from a middleware" }));
    expect(res.status).toBe(status);
    expect(res.body).toMatchObject({ status, error: { code, message: expect.any(String) }, response: null });
  });

  it("answers anything else 500 ERR_INTERNAL without its details", async () => {
    const res = await answer(new Error("secret detail"));
    expect(res.status).toBe(500);
    expect(res.body).toMatchObject({ status: 500, error: { code: "ERR_INTERNAL" } });
    expect(JSON.stringify(res.body)).not.toContain("secret detail");
  });
});
