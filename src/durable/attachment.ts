import type { StateUpdate } from "../socket/connection";
import type { ConnectionState } from "../socket/connection-state";

/**
 * The connection state stored on each hibernatable WebSocket. The runtime
 * keeps attachments across hibernation and eviction, so a woken object reads
 * its connections from here instead of from memory.
 */
export function readConnection(ws: WebSocket): ConnectionState | null {
  const state = ws.deserializeAttachment() as ConnectionState | null;
  return state && typeof state.socketId === "string" ? state : null;
}

export function writeConnection(ws: WebSocket, state: ConnectionState): void {
  ws.serializeAttachment(state);
}

/** Applies a change to the state as stored now, and stores the result. */
export function updateConnection(ws: WebSocket, update: StateUpdate): ConnectionState | null {
  const current = readConnection(ws);
  if (!current) return null;
  const next = update(current);
  writeConnection(ws, next);
  return next;
}
