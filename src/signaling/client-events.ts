import type { ClientToServerEvents, ServerEventName } from "../protocol/events";
import { ROOM_EVENTS } from "./room-requests";

/**
 * Every event a client may send, and the event it is refused with: its own
 * refusal event where the original contract has one, else `signaling-error`.
 */
export const CLIENT_EVENTS = {
  "auth-request": "auth-reject",
  ...ROOM_EVENTS,
} as const satisfies Record<keyof ClientToServerEvents, ServerEventName>;

export type ClientEventName = keyof typeof CLIENT_EVENTS;

/**
 * @example
 * isClientEvent("room-join-request"); // true
 * isClientEvent("__proto__"); // false
 */
export function isClientEvent(name: string): name is ClientEventName {
  return Object.hasOwn(CLIENT_EVENTS, name);
}

/**
 * The event a refusal of `name` goes out as; unknown names get `signaling-error`.
 *
 * @example refusalEventOf("room-create-request") === "room-create-reject"
 */
export function refusalEventOf(name: string): ServerEventName {
  return isClientEvent(name) ? CLIENT_EVENTS[name] : "signaling-error";
}
