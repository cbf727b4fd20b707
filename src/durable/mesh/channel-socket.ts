/**
 * The part of a WebSocket a relay channel uses (relay-channels.ts,
 * relay-receiver.ts): a runtime WebSocket, accepted, is one; tests pass a pair
 * of fakes.
 */
export interface ChannelSocket {
  send(text: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "message", listener: (event: { data: unknown }) => void): void;
  addEventListener(type: "close" | "error", listener: () => void): void;
}

/**
 * The path a relay channel is opened on, in a request from one object to
 * another. The worker routes only `/socket.io/` to objects, so no client can
 * ask for it: a channel is trusted as this worker's own.
 */
export const RELAY_CHANNEL_PATH = "/_internal/relay-channel";

/** Closes `socket`, which may be closed already. */
export function closeChannel(socket: ChannelSocket, code = 1000, reason = ""): void {
  try {
    socket.close(code, reason);
  } catch {
    // already closed
  }
}
