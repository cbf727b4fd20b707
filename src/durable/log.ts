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
  // `what` goes last, so no field (a refusal's `event`, say) can replace it.
  console.log(JSON.stringify({ ...logFields(fields), log: what }));
}
