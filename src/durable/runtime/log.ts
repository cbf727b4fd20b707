import { logFields } from "./log-fields";

/**
 * The ordinary comings and goings: a socket's open and close, a room's
 * creation and deletion. Refusals, errors, ghosts and recovery are always
 * logged, and so is the close of a socket that had refusals held back.
 */
const LIFECYCLE: ReadonlySet<string> = new Set(["socket-open", "socket-close", "room-created", "room-deleted"]);

/**
 * What each `LOG_LIFECYCLE` setting prints of {@link LIFECYCLE}. By default
 * only the ends (`ends`): a socket's close says how long it lived (its object's
 * name, the placement) and a room's deletion how long it existed, and a call
 * logs nothing while it is being set up. A socket cut by a restart, which gets
 * no close, then leaves no line. That halves a call's lines
 * (Workers Logs counts lines), and under `wrangler dev` each line costs the
 * runtime about 2 ms of CPU (wrangler reads logs through the V8 inspector):
 * three of them were a fifth of a local call set-up's time. The runtime logs
 * each WebSocket upgrade as a request anyway (`wrangler tail`).
 */
const ENDS: ReadonlySet<string> = new Set(["socket-close", "room-deleted"]);
const LIFECYCLE_SETTINGS: Record<string, ReadonlySet<string>> = { ends: ENDS, on: LIFECYCLE, off: new Set() };

/**
 * One structured line per connection lifecycle event and per refusal, as
 * JSON for `wrangler tail` and Logpush: `{"log":"<what happened>", ...}`.
 * Never tokens, never SDP or ICE contents, never peerinfo or payload: ids,
 * codes and event names only. The relay hot path logs nothing when all goes
 * well. Fields pass through {@link logFields}: known event names only, every
 * string capped and escaped, since some come from clients.
 *
 * One per object, made from its `LOG_LIFECYCLE` setting: `ends` (unset, or
 * anything unknown), `on` (also `socket-open` and `room-created`, as they
 * happen) or `off`.
 *
 * @example new Log("ends", () => "room:demo/lobby").line("socket-close", { object: "room:demo/lobby", socket: "Xy…", code: 1000 })
 * // {"object":"room:demo/lobby","socket":"Xy…","code":1000,"log":"socket-close"}
 */
export class Log {
  readonly #lifecycle: ReadonlySet<string>;

  /** `name`: how lines and errors name the object (its room's name when it has one, else its id). */
  constructor(
    lifecycleSetting: string | undefined,
    readonly name: () => string = () => "",
  ) {
    this.#lifecycle = LIFECYCLE_SETTINGS[lifecycleSetting ?? "ends"] ?? ENDS;
  }

  line(what: string, fields: Record<string, unknown>): void {
    if (!this.#lifecycle.has(what) && LIFECYCLE.has(what) && fields.unloggedRefusals === undefined) return;
    // `what` goes last, so no field (a refusal's `event`, say) can replace it.
    console.log(JSON.stringify({ ...logFields(fields), log: what }));
  }
}
