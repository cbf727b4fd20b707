import { failure, refusal } from "../protocol/errors";
import { type AuthServices, authRequest } from "./auth-request";
import type { ConnectionState } from "./connection-state";
import type { EventResult, IncomingEvent } from "./event-result";
import { isRoomEvent, type RoomRequestServices, roomRequest } from "./room-requests";

/** Everything the signaling events need from their host. */
export type SignalingServices = AuthServices & RoomRequestServices;

/**
 * Runs one client event by name.
 *
 * @example await routeEvent(state, { name: "auth-request", args: [token] }, services);
 */
export async function routeEvent(
  state: ConnectionState,
  event: IncomingEvent,
  services: SignalingServices,
): Promise<EventResult> {
  if (event.name === "auth-request") return authRequest(state, event.args, services);
  if (isRoomEvent(event.name))
    return roomRequest(state, event.name, event.args, services, { awaited: event.awaited === true });
  const error = { ...refusal("ERR_UNKNOWN_EVENT", `Unknown event ${JSON.stringify(event.name)}`), event: event.name };
  return { emit: [["signaling-error", error]], outcome: failure(error) };
}
