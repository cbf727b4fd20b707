import { encodeEngineMessage } from "../../protocol/engine-io";
import { encodeEvent } from "../../protocol/socket-io";
import type { Delivery, MembershipChange } from "../../signaling/room-rules";

/** One event for one socket, encoded once by the room, sent as it is by the socket's host. */
export interface OutgoingFrame {
  to: string;
  frame: string;
  membership?: MembershipChange;
}

/**
 * Groups a room's deliveries by the object that holds each receiver's socket
 * and encodes each event to its wire frame.
 *
 * @example byHome([{ to: { id: "s1", home: "h1" }, event: "ice-candidate", data }]) // Map { "h1" => [{ to: "s1", frame: '42["ice-candidate",...]' }] }
 */
export function byHome(deliveries: Delivery[]): Map<string, OutgoingFrame[]> {
  const groups = new Map<string, OutgoingFrame[]>();
  for (const delivery of deliveries) {
    const frame: OutgoingFrame = {
      to: delivery.to.id,
      frame: encodeEngineMessage(encodeEvent(delivery.event, delivery.data)),
    };
    if (delivery.membership) frame.membership = delivery.membership;
    const group = groups.get(delivery.to.home);
    if (group) group.push(frame);
    else groups.set(delivery.to.home, [frame]);
  }
  return groups;
}
