/**
 * The Node server's limits and heartbeat: the defaults of this server
 * (`SOCKET_DEFAULTS` in src/config.ts), copied because src/config.ts brings
 * the Worker's types along, which a Node process does not have.
 */
export const NODE_SETTINGS = {
  pingInterval: 60_000,
  pingTimeout: 30_000,
  maxPayloadBytes: 8_192,
  maxPeerinfoBytes: 4_096,
  maxRoomMembers: 32,
  maxPendingRequests: 32,
  maxRoomsPerSocket: 16,
  tokenLifetimeSeconds: 86_400,
} as const;
