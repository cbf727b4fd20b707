import { logFields } from "./log-fields";

/**
 * One structured line per connection lifecycle event and per refusal, as
 * JSON for `wrangler tail` and Logpush: `{"log":"<what happened>", ...}`.
 * Never tokens, never SDP or ICE contents, never peerinfo or payload: ids,
 * codes and event names only. The relay hot path logs nothing when all goes
 * well. Fields pass through {@link logFields}: known event names only, every
 * string capped and escaped, since some come from clients.
 *
 * @example log("socket-close", { object: "room:demo/lobby", socket: "Xy…", code: 1000 })
 * // {"log":"socket-close","object":"room:demo/lobby","socket":"Xy…","code":1000}
 */
export function log(what: string, fields: Record<string, unknown>): void {
  if (!lifecycleLines && LIFECYCLE.has(what) && fields.unloggedRefusals === undefined) return;
  // `what` goes last, so no field (a refusal's `event`, say) can replace it.
  console.log(JSON.stringify({ ...logFields(fields), log: what }));
}

/**
 * The ordinary comings and goings, which `LOG_LIFECYCLE=off` leaves out:
 * one socket's open and close, a room's creation and deletion. Refusals,
 * errors, ghosts and recovery are always logged, and so is the close of a
 * socket that had refusals held back. Two to four lines per call set-up
 * add up in log volume (Workers Logs counts lines).
 */
const LIFECYCLE = new Set(["socket-open", "socket-close", "room-created", "room-deleted"]);
let lifecycleLines = true;

/**
 * Whether lifecycle lines are printed (the `LOG_LIFECYCLE` setting; one per isolate, as its env).
 *
 * @example logLifecycle(env.LOG_LIFECYCLE !== "off");
 */
export function logLifecycle(on: boolean): void {
  lifecycleLines = on;
}
