import type { ConnectionState } from "./connection-state";
import type { MembershipChange } from "./room-rules";

/**
 * Records in a connection's state how its relation to `room` changed, so the
 * connection can leave its rooms and withdraw its requests when it goes.
 *
 * @example applyMembership(state, "lobby", "joined") // lobby in rooms, not in requested
 */
export function applyMembership(state: ConnectionState, room: string, change: MembershipChange): ConnectionState {
  const without = (list: string[]) => list.filter((name) => name !== room);
  switch (change) {
    case "joined":
      return { ...state, rooms: [...without(state.rooms), room], requested: without(state.requested) };
    case "left":
      return { ...state, rooms: without(state.rooms) };
    case "requested":
      return { ...state, requested: [...without(state.requested), room] };
    case "request-ended":
      return { ...state, requested: without(state.requested) };
  }
}
