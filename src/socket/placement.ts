import { APP_NAME_RULE, isValidAppName } from "../auth/app-name";
import { HANDSHAKE_ERRORS, type HandshakeError } from "../protocol/handshake";
import { isValidRoomName, ROOM_NAME_RULE } from "../signaling/room-name";

/**
 * Where a connection lives. One mechanism, two placements:
 * - `room`: the client named its app and room in the handshake query
 *   (`io(url, { query: { app, room } })`), so it is accepted by that room's
 *   Durable Object and all its signaling for that room is handled there;
 * - `own`: the client named no room (the original server's clients create or
 *   join rooms later), so it gets a Durable Object of its own. An `app`
 *   without a room binds nothing: only a token proves an app (the worker
 *   checks a room placement's token before the room's object is reached).
 */
export type Placement = { kind: "room"; app: string; room: string } | { kind: "own" };

export type PlacementResult = { ok: true; placement: Placement } | { ok: false; error: HandshakeError };

/**
 * Reads the placement from the handshake query.
 *
 * @example
 * placementFromQuery(new URL("http://h/socket.io/?EIO=4&transport=websocket&app=demo&room=lobby"));
 * // { ok: true, placement: { kind: "room", app: "demo", room: "lobby" } }
 */
export function placementFromQuery(url: URL): PlacementResult {
  const app = url.searchParams.get("app");
  const room = url.searchParams.get("room");
  if (app !== null && !isValidAppName(app)) return badRequest(APP_NAME_RULE);
  if (room === null) return { ok: true, placement: { kind: "own" } };
  if (app === null) return badRequest("A room in the query needs its app too: query: { app, room }");
  if (!isValidRoomName(room)) return badRequest(ROOM_NAME_RULE);
  return { ok: true, placement: { kind: "room", app, room } };
}

/**
 * The Durable Object name of a room. App names cannot contain "/", so two
 * apps' rooms never share an object.
 *
 * @example roomObjectName("demo", "lobby") === "room:demo/lobby"
 */
export function roomObjectName(app: string, room: string): string {
  return `room:${app}/${room}`;
}

function badRequest(detail: string): PlacementResult {
  return { ok: false, error: { ...HANDSHAKE_ERRORS.BAD_REQUEST, detail } };
}
