import type { Outcome, ServerEventName } from "../protocol/events";
import type { ConnectionState } from "./connection-state";

/**
 * What the signaling events hand back to the connection that sent them.
 * Declared here, beside the handlers, so dependencies run one way: the
 * connection layer (src/socket/) uses signaling, never the reverse.
 */

/**
 * A change to a connection's state, applied to the state as it is when the
 * change is written: other work (a room admitting this peer, say) may have
 * changed it while the handler awaited.
 */
export type StateUpdate = (current: ConnectionState) => ConnectionState;

/**
 * An answer that comes later, at every layer it passes through (a room's
 * reply, an event's result, a frame's result): set when what the answer
 * holds is not known yet (a relay on its way to its receiver's object), and
 * the real answer, of the same shape, when it settles. Meanwhile the
 * connection goes on with its next frame, which is what lets relays to one
 * object travel together.
 */
export interface MaybeLater<T> {
  later?: Promise<T>;
}

/** What one event handler decided: events for this connection, the ack's outcome, a state change. */
export interface EventResult extends MaybeLater<EventResult> {
  /** Ignored when `later` is set. */
  emit: Array<[ServerEventName, unknown]>;
  outcome: Outcome;
  update?: StateUpdate;
}

/** An event from a connected client, with untrusted arguments. */
export interface IncomingEvent {
  name: string;
  args: unknown[];
  /** The client asked for an acknowledgement: it waits on this event's outcome. */
  awaited?: boolean;
}
