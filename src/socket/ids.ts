/**
 * A random id of 20 URL-safe characters (120 bits), the shape of Engine.IO
 * and Socket.IO ids: for Engine.IO sessions, sockets (the peer's `peer_id`)
 * and recovery pids. Rooms created without a name get a UUID instead.
 *
 * @example randomId() // "Zk3v0Q9cS1xq7mD2aLpE"
 */
export function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(15));
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_");
}
