import * as v from "valibot";
import { TokenError } from "../auth/token-error";
import { failure, refusal, success } from "../protocol/errors";
import type { Json, Refusal } from "../protocol/events";
import type { ConnectionState } from "./connection-state";
import type { EventResult } from "./event-result";
import { jsonBytesExceed } from "./json-size";

/** What `auth-request` needs besides the request. */
export interface AuthServices {
  verifyAppToken(token: unknown): Promise<{ app: string }>;
  signSessionToken(binding: { app: string; connection: string }): Promise<string>;
  /** Largest `peerinfo`, in bytes of JSON. It rides in the connection's attachment, which is small. */
  maxPeerinfoBytes: number;
}

// `auth-request` carries the app token, bare or as { token, peerinfo?, payload? }.
const AuthRequestSchema = v.union([
  v.pipe(
    v.string(),
    v.transform((token) => ({ token, peerinfo: null as unknown })),
  ),
  v.object({ token: v.string(), peerinfo: v.optional(v.unknown(), null), payload: v.optional(v.unknown()) }),
]);

/**
 * `auth-request`: trades an app token for a session token bound to this app
 * and this connection, and records the peer's `peerinfo`.
 *
 * @example
 * await authRequest(state, [{ token: appToken, peerinfo: { name: "Ann" } }], services);
 * // emits auth-accept { token } or auth-reject { code, message }
 */
export async function authRequest(
  state: ConnectionState,
  args: unknown[],
  services: AuthServices,
): Promise<EventResult> {
  const parsed = v.safeParse(AuthRequestSchema, args[0]);
  if (!parsed.success) {
    return reject(refusal("ERR_INVALID_REQUEST", "auth-request needs an app token: a string or { token, peerinfo? }"));
  }
  const { token, peerinfo } = parsed.output;
  if (jsonBytesExceed(peerinfo, services.maxPeerinfoBytes)) {
    return reject(
      refusal("ERR_INVALID_REQUEST", `peerinfo must be JSON of at most ${services.maxPeerinfoBytes} bytes`),
    );
  }
  let app: string;
  try {
    app = (await services.verifyAppToken(token)).app;
  } catch (error) {
    if (error instanceof TokenError) return reject(refusal(error.code));
    throw error;
  }
  if (state.app !== null && state.app !== app) return reject(refusal("ERR_TOKEN_WRONG_APP"));

  const sessionToken = await services.signSessionToken({ app, connection: state.socketId });
  return {
    emit: [["auth-accept", { token: sessionToken }]],
    outcome: success({ token: sessionToken }),
    update: (current) => ({ ...current, app, authenticated: true, peerinfo: (peerinfo ?? null) as Json }),
  };
}

function reject(error: Refusal): EventResult {
  return { emit: [["auth-reject", error]], outcome: failure(error) };
}
