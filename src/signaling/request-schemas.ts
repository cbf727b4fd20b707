import * as v from "valibot";
import type { Json } from "../protocol/events";
import { isValidRoomName, ROOM_NAME_RULE } from "./room-name";
import type { RoomAction } from "./room-rules";

/**
 * Schemas of the room and relay requests, as the original README lists their
 * fields, each ending in the action it asks of the room. Unknown fields are
 * ignored, as the original did; `payload` is passed along, checked for size
 * elsewhere.
 */

/** What a room or relay request asks: of which room (none: a new one), and what. */
export interface RoomRequest {
  room: string | undefined;
  action: RoomAction;
}

const Auth = v.string("auth must be the session token from auth-accept");
const Room = v.pipe(
  v.string(ROOM_NAME_RULE),
  v.check((name) => isValidRoomName(name), ROOM_NAME_RULE),
);
const PeerId = v.pipe(
  v.string("peer ids are strings"),
  v.minLength(1, "peer ids are not empty"),
  v.maxLength(64, "peer ids are at most 64 characters"),
);
const Payload = v.optional(v.unknown());
/** Anything but undefined: the sender's SDP or ICE object, passed on as it is. */
const Present = (name: string) => v.custom<unknown>((value) => value !== undefined, `${name} is required`);

/** `room-join-accept` and `room-join-reject` carry the same fields; only the answer differs. */
const JoinAnswer = (accept: boolean) =>
  v.pipe(
    v.object({ auth: Auth, room: Room, peer_id: PeerId, to: v.optional(PeerId), payload: Payload }),
    v.check(
      (request) => request.to === undefined || request.to === request.peer_id,
      "to must equal peer_id (both name the candidate)",
    ),
    v.transform(
      (r): RoomRequest => ({
        room: r.room,
        action: { kind: "join-answer", accept, candidate: r.peer_id, payload: json(r.payload) },
      }),
    ),
  );

/** Each room and relay event's schema, by event name. */
export const ROOM_REQUESTS = {
  "room-create-request": v.pipe(
    v.object({ auth: Auth, room: v.optional(Room), payload: Payload }),
    v.transform((r): RoomRequest => ({ room: r.room, action: { kind: "create", payload: json(r.payload) } })),
  ),
  "room-join-request": v.pipe(
    v.object({ auth: Auth, room: Room, payload: Payload }),
    v.transform((r): RoomRequest => ({ room: r.room, action: { kind: "join-request", payload: json(r.payload) } })),
  ),
  "room-join-accept": JoinAnswer(true),
  "room-join-reject": JoinAnswer(false),
  "room-leave-request": v.pipe(
    v.object({ auth: Auth, room: Room, payload: Payload }),
    v.transform((r): RoomRequest => ({ room: r.room, action: { kind: "leave", payload: json(r.payload) } })),
  ),
  "relay-session-description": v.pipe(
    v.object({
      auth: Auth,
      room: Room,
      to: PeerId,
      session_description: Present("session_description"),
      payload: Payload,
    }),
    v.transform(
      (r): RoomRequest => ({
        room: r.room,
        action: {
          kind: "relay",
          what: "session-description",
          to: r.to,
          body: json(r.session_description),
          payload: json(r.payload),
        },
      }),
    ),
  ),
  "relay-ice-candidate": v.pipe(
    v.object({ auth: Auth, room: Room, to: PeerId, ice_candidate: Present("ice_candidate"), payload: Payload }),
    v.transform(
      (r): RoomRequest => ({
        room: r.room,
        action: {
          kind: "relay",
          what: "ice-candidate",
          to: r.to,
          body: json(r.ice_candidate),
          payload: json(r.payload),
        },
      }),
    ),
  ),
} satisfies Record<string, v.GenericSchema<unknown, RoomRequest>>;

/**
 * Validates a request; the error message names the first faulty field.
 *
 * @example
 * parseRequest(ROOM_REQUESTS["room-join-request"], { auth: "t" }); // { ok: false, message: "room: ..." }
 */
export function parseRequest<S extends v.GenericSchema>(
  schema: S,
  input: unknown,
): { ok: true; value: v.InferOutput<S> } | { ok: false; message: string } {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return { ok: false, message: "The request must be an object" };
  }
  const result = v.safeParse(schema, input);
  if (result.success) return { ok: true, value: result.output };
  const issue = result.issues[0];
  const path = v.getDotPath(issue);
  return { ok: false, message: path ? `${path}: ${issue.message}` : issue.message };
}

/** Values from a decoded frame are JSON already; absent ones travel as null. */
function json(value: unknown): Json {
  return value === undefined ? null : (value as Json);
}
