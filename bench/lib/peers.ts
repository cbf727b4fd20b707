import { connectPeer, type TestPeer } from "../../test/support/peer";

/** Where a bench peer's socket lives: in its room's object (zero hops), or in an object of its own (seed-style). */
export type Placement = "room" | "own";

/**
 * A socket.io-client peer of the "bench" app, connected and authenticated,
 * placed in `room`'s object (naming app, room and app token in the query) or in its own.
 *
 * @example const peer = await benchPeer(url, appToken, "a", "lobby", "room");
 */
export function benchPeer(
  url: string,
  appToken: string,
  name: string,
  room: string,
  placement: Placement,
): Promise<TestPeer> {
  return connectPeer({
    url,
    appToken,
    peerinfo: { name },
    ...(placement === "room" ? { query: roomQuery(room, appToken) } : {}),
  });
}

/** The handshake query that places a socket in `room`'s object. */
export function roomQuery(room: string, appToken: string): Record<string, string> {
  return { app: "bench", room, token: appToken };
}
