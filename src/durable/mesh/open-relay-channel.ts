import type { ChannelSocket } from "./channel-socket";
import { RELAY_CHANNEL_PATH } from "./channel-socket";

/**
 * Opens a relay channel to the object of `stub`: a WebSocket upgrade to its
 * `fetch`, which hands the other end to its relay receiver. Accepted here, not
 * by the hibernation API: an object cannot hibernate a socket it opened,
 * which is why channels close when idle (relay-channels.ts).
 */
export async function openRelayChannel(stub: { fetch(request: Request): Promise<Response> }): Promise<ChannelSocket> {
  const response = await stub.fetch(
    new Request(`https://relay-channel.internal${RELAY_CHANNEL_PATH}`, { headers: { Upgrade: "websocket" } }),
  );
  const socket = response.webSocket;
  if (response.status !== 101 || !socket) throw new Error(`relay channel refused: HTTP ${response.status}`);
  socket.accept();
  return socket;
}
