/**
 * The wire contract as types: every event a client may send and every event
 * the server sends, with their fields. Server code, tests and users' clients
 * share these:
 *
 * @example
 * import { io, type Socket } from "socket.io-client";
 * import type { ClientToServerEvents, ServerToClientEvents } from "edge-signaling/src/protocol/events";
 * const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(url, { transports: ["websocket"] });
 */

/** Any JSON value a client chooses to pass along (`peerinfo`, `payload`). */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** The answer to a request sent with an acknowledgement callback (`emitWithAck`). */
export type Outcome<T = unknown> = { ok: true; data: T } | { ok: false; error: { code: string; message: string } };

/** Callback form of {@link Outcome}, as socket.io-client types acknowledgements. */
export type Ack<T = unknown> = (outcome: Outcome<T>) => void;

// ---- client to server --------------------------------------------------

export type AuthRequest = string | { token: string; peerinfo?: Json; payload?: Json };
export interface RoomCreateRequest {
  auth: string;
  room?: string;
  payload?: Json;
}
export interface RoomJoinRequest {
  auth: string;
  room: string;
  payload?: Json;
}
export interface RoomJoinAnswer {
  auth: string;
  room: string;
  /** The candidate's socket id. */
  peer_id: string;
  /** The candidate again (the original README's field; must equal `peer_id` when given). */
  to?: string;
  payload?: Json;
}
export interface RoomLeaveRequest {
  auth: string;
  room: string;
  payload?: Json;
}
export interface RelaySessionDescription {
  auth: string;
  room: string;
  /** The receiving peer. */
  to: string;
  peer_id?: string;
  session_description: Json;
  payload?: Json;
}
export interface RelayIceCandidate {
  auth: string;
  room: string;
  to: string;
  peer_id?: string;
  ice_candidate: Json;
  payload?: Json;
}

export interface ClientToServerEvents {
  "auth-request": (request: AuthRequest, ack?: Ack<AuthAccept>) => void;
  "room-create-request": (request: RoomCreateRequest, ack?: Ack<RoomCreateAccept>) => void;
  "room-join-request": (request: RoomJoinRequest, ack?: Ack) => void;
  "room-join-accept": (request: RoomJoinAnswer, ack?: Ack) => void;
  "room-join-reject": (request: RoomJoinAnswer, ack?: Ack) => void;
  "room-leave-request": (request: RoomLeaveRequest, ack?: Ack) => void;
  "relay-session-description": (request: RelaySessionDescription, ack?: Ack) => void;
  "relay-ice-candidate": (request: RelayIceCandidate, ack?: Ack) => void;
}

// ---- server to client --------------------------------------------------

/** Every refusal carries a stable `code` besides the original's `message`. */
export interface Refusal {
  code: string;
  message: string;
}
export interface AuthAccept {
  /** The session token: pass it as `auth` in every later request. */
  token: string;
}
export interface RoomCreateAccept {
  room: string;
}
export interface RoomJoinRequestNotice {
  room: string;
  peer_id: string;
  peerinfo: Json;
  payload: Json;
}
export interface RoomJoinAccept {
  room: string;
  /** The receiver's own id. */
  peer_id: string;
  /** Every other member of the room. */
  peers: string[];
  peersinfo: Record<string, Json>;
  payload: Json;
}
export interface RoomPeerNotice {
  room: string;
  peer_id: string;
  peerinfo: Json;
}
export interface SessionDescription {
  room: string;
  /** The sender. */
  peer_id: string;
  session_description: Json;
  peerinfo: Json;
  payload: Json;
}
export interface IceCandidate {
  room: string;
  peer_id: string;
  ice_candidate: Json;
  peerinfo: Json;
  payload: Json;
}
/** A request this server refused that has no refusal event of its own in the original contract. */
export interface SignalingError extends Refusal {
  /** The request that caused it, when known. */
  event?: string;
}

export interface ServerToClientEvents {
  unauthorized: (data: Refusal) => void;
  "auth-accept": (data: AuthAccept) => void;
  "auth-reject": (data: Refusal) => void;
  "room-create-accept": (data: RoomCreateAccept) => void;
  "room-create-reject": (data: Refusal & { room?: string }) => void;
  "room-join-request": (data: RoomJoinRequestNotice) => void;
  "room-join-accept": (data: RoomJoinAccept) => void;
  "room-join-reject": (data: Refusal & { room: string }) => void;
  "room-user-join": (data: RoomPeerNotice) => void;
  "room-user-leave": (data: RoomPeerNotice) => void;
  "room-owner-change": (data: RoomPeerNotice) => void;
  "session-description": (data: SessionDescription) => void;
  "ice-candidate": (data: IceCandidate) => void;
  "signaling-error": (data: SignalingError) => void;
}

/** Names of events the server sends. */
export type ServerEventName = keyof ServerToClientEvents;
