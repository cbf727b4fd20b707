import * as v from "valibot";
import { isValidRoomName, ROOM_NAME_RULE } from "./room-name";

/**
 * Schemas of the room and relay requests, as the original README lists their
 * fields. Unknown fields are ignored, as the original did; `payload` is
 * passed along, checked for size elsewhere.
 */

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

export const RoomCreateRequest = v.object({ auth: Auth, room: v.optional(Room), payload: Payload });
export const RoomJoinRequest = v.object({ auth: Auth, room: Room, payload: Payload });
export const RoomLeaveRequest = v.object({ auth: Auth, room: Room, payload: Payload });
export const RoomJoinAnswer = v.pipe(
  v.object({ auth: Auth, room: Room, peer_id: PeerId, to: v.optional(PeerId), payload: Payload }),
  v.check(
    (request) => request.to === undefined || request.to === request.peer_id,
    "to must equal peer_id (both name the candidate)",
  ),
);
export const RelaySessionDescription = v.object({
  auth: Auth,
  room: Room,
  to: PeerId,
  session_description: Present("session_description"),
  payload: Payload,
});
export const RelayIceCandidate = v.object({
  auth: Auth,
  room: Room,
  to: PeerId,
  ice_candidate: Present("ice_candidate"),
  payload: Payload,
});

/**
 * Validates a request; the error message names the first faulty field.
 *
 * @example
 * parseRequest(RoomJoinRequest, { auth: "t" }); // { ok: false, message: "room: ..." }
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
