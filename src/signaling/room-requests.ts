import { TokenError } from "../auth/token-error";
import { failure, refusal, type SignalingErrorCode } from "../protocol/errors";
import type { Outcome, ServerEventName } from "../protocol/events";
import type { ConnectionState } from "./connection-state";
import type { EventResult, MaybeLater } from "./event-result";
import { jsonBytesExceed } from "./json-size";
import { applyMembership } from "./membership";
import { parseRequest, ROOM_REQUESTS } from "./request-schemas";
import type { MembershipChange, RoomAction } from "./room-rules";
import type { Peer, RoomRef } from "./room-store";

/** What a room answers its requester. */
export interface RoomReply extends MaybeLater<RoomReply> {
  /** Ignored when `later` is set. */
  outcome: Outcome;
  reply: Array<[ServerEventName, unknown]>;
  membership?: MembershipChange;
}

/** How a request is made. */
export interface RequestOptions {
  /** The client waits on this request's outcome (it asked for an acknowledgement). */
  awaited?: boolean;
}

/** Reaches the object of a room: the one handling the request, or another over RPC. */
export interface RoomGateway {
  request(ref: RoomRef, actor: Peer, action: RoomAction, options?: RequestOptions): Promise<RoomReply>;
}

export interface RoomRequestServices {
  /** Checks a session token against this connection; throws {@link TokenError}. */
  verifySessionToken(token: string, binding: { app: string; connection: string }): Promise<void>;
  rooms: RoomGateway;
  /** Id of the object holding this connection's socket. */
  home: string;
  /** Largest `payload`, in bytes of JSON. */
  maxPayloadBytes: number;
  /** Most rooms one connection may be in or ask to join at once. */
  maxRoomsPerSocket: number;
  /** A name for a room created without one. */
  newRoomName(): string;
}

/** The room and relay events, and the event each one is refused with. */
export const ROOM_EVENTS = {
  "room-create-request": "room-create-reject",
  "room-join-request": "room-join-reject",
  "room-join-accept": "signaling-error",
  "room-join-reject": "signaling-error",
  "room-leave-request": "signaling-error",
  "relay-session-description": "signaling-error",
  "relay-ice-candidate": "signaling-error",
} as const satisfies Record<string, ServerEventName>;

export type RoomEventName = keyof typeof ROOM_EVENTS;

export function isRoomEvent(name: string): name is RoomEventName {
  return Object.hasOwn(ROOM_EVENTS, name);
}

/**
 * Runs a room or relay request: checks its session token (anything wrong:
 * `unauthorized`, nothing else happens), validates it, and hands it to the
 * room's object.
 *
 * @example await roomRequest(state, "room-join-request", [{ auth, room: "lobby" }], services);
 */
export async function roomRequest(
  state: ConnectionState,
  event: RoomEventName,
  args: unknown[],
  services: RoomRequestServices,
  options: RequestOptions = {},
): Promise<EventResult> {
  const request = args[0];
  const auth = typeof request === "object" && request !== null ? (request as { auth?: unknown }).auth : undefined;
  try {
    // A request without `auth` is refused as the handshake refuses a room without a token: ERR_TOKEN_MISSING.
    if (auth === undefined || auth === null || auth === "")
      throw new TokenError("ERR_TOKEN_MISSING", "auth is missing");
    if (typeof auth !== "string") throw new TokenError("ERR_TOKEN_MALFORMED", "auth is not a string");
    // A connection that never passed auth-request has no app, so no token can match it.
    await services.verifySessionToken(auth, { app: state.app ?? "", connection: state.socketId });
  } catch (error) {
    if (!(error instanceof TokenError)) throw error;
    const denied = refusal(error.code);
    return { emit: [["unauthorized", denied]], outcome: failure(denied) };
  }

  const parsed = parseRequest(ROOM_REQUESTS[event], request);
  if (!parsed.ok) return refuse(event, "ERR_INVALID_REQUEST", parsed.message);
  const { room, action } = parsed.value;
  const payload = "payload" in action ? action.payload : null;
  if (jsonBytesExceed(payload, services.maxPayloadBytes)) {
    return refuse(event, "ERR_PAYLOAD_TOO_LARGE", `payload must be JSON of at most ${services.maxPayloadBytes} bytes`);
  }
  if (
    (action.kind === "create" || action.kind === "join-request") &&
    state.rooms.length + state.requested.length >= services.maxRoomsPerSocket
  ) {
    return refuse(event, "ERR_TOO_MANY_ROOMS", `A connection may be in at most ${services.maxRoomsPerSocket} rooms`);
  }

  const ref = { app: state.app as string, room: room ?? services.newRoomName() };
  const actor: Peer = { id: state.socketId, home: services.home, peerinfo: state.peerinfo };
  const answer = await services.rooms.request(ref, actor, action, options);
  if (answer.later) {
    // Only relays answer later, and a relay changes no membership.
    return { emit: [], outcome: answer.outcome, later: answer.later.then((final) => eventResult(event, final)) };
  }
  const result = eventResult(event, answer);
  const change = answer.membership;
  if (change) result.update = (current) => applyMembership(current, ref.room, change);
  return result;
}

function eventResult(event: RoomEventName, answer: RoomReply): EventResult {
  return {
    emit: answer.reply.map(([name, data]) => [
      name,
      name === "signaling-error" ? { ...(data as object), event } : data,
    ]),
    outcome: answer.outcome,
  };
}

function refuse(event: RoomEventName, code: SignalingErrorCode, message: string): EventResult {
  const error = refusal(code, message);
  const name = ROOM_EVENTS[event];
  return { emit: [[name, name === "signaling-error" ? { ...error, event } : error]], outcome: failure(error) };
}
