/**
 * The part of a WebSocket a relay channel uses (relay-channels.ts,
 * relay-receiver.ts): a runtime WebSocket, accepted, is one; tests pass a pair
 * of fakes.
 */
export interface ChannelSocket {
  send(text: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "message", listener: (event: { data: unknown }) => void): void;
  addEventListener(type: "close", listener: (event: { code: number }) => void): void;
  addEventListener(type: "error", listener: () => void): void;
}

/**
 * The path a relay channel is opened on, in a request from one object to
 * another. The worker routes only `/socket.io/` to objects, so no client can
 * ask for it: a channel is trusted as this worker's own.
 */
export const RELAY_CHANNEL_PATH = "/_internal/relay-channel";

/**
 * Answers the close of the other end: unless no Close frame came (1005, 1006,
 * 1015: the transport is gone, and answering would fail inside the runtime,
 * where no catch sees it), completes the closing handshake.
 */
export function answerClose(socket: ChannelSocket, code: number): void {
  if (code !== 1005 && code !== 1006 && code !== 1015) closeChannel(socket);
}

/** Closes `socket`, which may be closed already. */
export function closeChannel(socket: ChannelSocket, code = 1000, reason = ""): void {
  try {
    socket.close(code, reason);
  } catch {
    // already closed
  }
}
