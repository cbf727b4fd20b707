/**
 * The edge signaling client library: a WebRTC call through this server in a few lines.
 *
 * In a page, without a bundler: `import { connect } from "/client.js"` (socket.io-client bundled
 * in). With a bundler: `import { connect } from "edge-signaling/client"` (this TypeScript source).
 *
 * @example
 * const client = await connect(location.origin, { token: appToken, peerinfo: { name: "Ann" } });
 * const room = await client.createRoom("lobby", { media: await navigator.mediaDevices.getUserMedia({ audio: true, video: true }) });
 * room.on("join-request", (request) => request.accept());
 * room.on("peer", (peer) => peer.on("track", (_track, stream) => (video.srcObject = stream)));
 * // later
 * await room.leave();
 */
export type { Json } from "../protocol/events";
export { Client, type ConnectOptions, connect } from "./client";
export type { MediaState, RemoteMedia } from "./control-notes";
export { type ClientErrorCode, type ErrorCode, SignalingError } from "./errors";
export { type IceServer, IceServerSource } from "./ice-servers";
export type { JoinRequest } from "./join-request";
export { Peer } from "./peer";
export { type Role, Room, type RoomOptions } from "./room";
export { Signaling, type SignalingOptions } from "./signaling";
