import type { Json } from "../protocol/events";

/**
 * A request to join a room this client owns (`room-join-request`). Answer it with `accept` or
 * `reject`; an unanswered request waits until the server's `JOIN_REQUEST_TIMEOUT_MS`.
 *
 * @example
 * room.on("join-request", (request) => (request.returning || allowed(request.info) ? request.accept() : request.reject()));
 */
export interface JoinRequest {
  /** The candidate's peer id. */
  peerId: string;
  /** The candidate's `peerinfo`. */
  info: Json;
  /** The `payload` of its request. */
  payload: Json;
  /**
   * The candidate is a peer of this room coming back under a new id after losing its server
   * session: it said so over its (end-to-end encrypted) connection with us, so it was let in before.
   */
  returning: boolean;
  accept(payload?: Json): Promise<void>;
  reject(payload?: Json): Promise<void>;
}
