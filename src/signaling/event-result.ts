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

/** What one event handler decided: events for this connection, the ack's outcome, a state change. */
export interface EventResult {
  emit: Array<[ServerEventName, unknown]>;
  outcome: Outcome;
  update?: StateUpdate;
  /** The events and outcome are not known yet: these are, when this settles (and `emit`/`outcome` are ignored). */
  later?: Promise<EventResult>;
}

/** An event from a connected client, with untrusted arguments. */
export interface IncomingEvent {
  name: string;
  args: unknown[];
}
