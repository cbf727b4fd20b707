/**
 * One structured line per connection lifecycle event and per refusal, as
 * JSON for `wrangler tail` and Logpush. Never tokens, never SDP or ICE
 * contents, never peerinfo or payload: ids, codes and event names only. The
 * relay hot path logs nothing when all goes well.
 *
 * @example log("socket-close", { object: "room:demo/lobby", socket: "Xy…", code: 1000 })
 */
export function log(event: string, fields: Record<string, unknown>): void {
  console.log(JSON.stringify({ event, ...fields }));
}
