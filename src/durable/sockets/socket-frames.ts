import { signSessionToken, verifyAppToken, verifySessionToken } from "../../auth/tokens";
import type { VerifiedSessions } from "../../auth/verified-sessions";
import type { SocketConfig } from "../../config";
import type { RoomGateway } from "../../signaling/room-requests";
import { routeEvent, type SignalingServices } from "../../signaling/router";
import {
  CLOSE_INTERNAL_ERROR,
  CLOSE_POLICY_VIOLATION,
  type ConnectionContext,
  type FrameResult,
  handleFrame,
} from "../../socket/connection";
import type { SessionClaims } from "../recovery/session-claims";
import type { SessionKeeper } from "../recovery/session-keeper";
import type { KeyedQueue } from "../runtime/keyed-queue";
import type { Log } from "../runtime/log";
import type { Departures } from "./departures";
import type { FloodGuard } from "./flood-guard";
import type { HeldSockets } from "./held-sockets";
import { closeQuietly, sendQuietly } from "./quiet-socket";

/** What frame handling needs from its object. */
export interface FramesHost {
  /** This object's id: the `home` of its sockets' peers in their rooms. */
  self: string;
  held: HeldSockets;
  guard: FloodGuard;
  keeper: Pick<SessionKeeper, "newPid" | "end">;
  claims: Pick<SessionClaims, "resume">;
  departures: Departures;
  gateway: RoomGateway;
  sessions: VerifiedSessions;
  config(): SocketConfig;
  /** The secret tokens are signed with (read when first needed). */
  tokenSecret(): string;
  /** Runs `task` after the socket's earlier frames: one socket's frames are handled in order. */
  queues: Pick<KeyedQueue, "run">;
  log: Log;
}

/**
 * What an object does with a frame from one of its sockets: rate limit it,
 * hand it to the pure connection layer (src/socket/connection.ts) with the
 * signaling services, and apply what that returns: frames to send, the
 * connection's new state, a close, an answer that comes later.
 */
export class SocketFrames {
  /** What the signaling events need, built once per instance (it depends on nothing per socket). */
  #services: SignalingServices | undefined;

  constructor(private readonly host: FramesHost) {}

  /** A frame from socket `ws`. Never throws on a peer's input. */
  async receive(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const tag = this.host.held.tagOf(ws);
    if (!tag) return closeQuietly(ws, CLOSE_INTERNAL_ERROR, "connection state lost");
    if (this.host.held.closedHere(tag) || !this.#withinRateLimit(ws, tag, message)) return;
    await this.host.queues.run(tag, () => this.#handle(ws, tag, message));
  }

  async #handle(ws: WebSocket, tag: string, message: string | ArrayBuffer): Promise<void> {
    const { held } = this.host;
    const state = held.state(ws, tag);
    if (!state) return closeQuietly(ws, CLOSE_INTERNAL_ERROR, "connection state lost");
    try {
      const result = await handleFrame(state, message, this.#context(ws, tag));
      const after = result.update ? held.update(ws, tag, result.update) : state;
      if (result.resumed && after) {
        // The recovered session's answer and the events it missed carry their offsets already.
        held.adopt(after.socketId, tag);
        for (const frame of result.send) sendQuietly(ws, frame);
      } else {
        for (const frame of result.send) held.send(ws, after ?? state, frame);
      }
      if (result.refused) this.#logRefusal(tag, state.socketId, result.refused);
      // Not handed to ctx.waitUntil: it protects a pending promise no better than the pending RPC
      // inside it already does (Cloudflare's changelog of 2026-10-01 puts both under the same rule),
      // and on the one-hop relay's path, where every relay has a later answer, it cost about 6 µs of
      // server CPU per message (seed-style flood, five runs alternated with and without: 75 -> 69 µs,
      // 15,900 -> 19,100 msg/s on average; bench/RESULTS.md).
      if (result.later) void this.#sendLater(ws, tag, result.later);
      if (result.close) await this.host.departures.drop(ws, tag, result.close.code, result.close.reason);
    } catch (error) {
      // Only a bug or a misconfiguration gets here; the peer's socket is
      // closed, every other socket of this object carries on.
      console.error(`[${this.host.log.name()}] socket ${state.socketId}:`, error);
      await this.host.departures.drop(ws, tag, CLOSE_INTERNAL_ERROR, "internal error");
    }
  }

  /** The answer of a request that came after the socket went on (a relay's ack): sent when it comes. */
  async #sendLater(ws: WebSocket, tag: string, later: Promise<FrameResult>): Promise<void> {
    try {
      const result = await later;
      const state = this.host.held.state(ws, tag);
      if (!state || this.host.held.closedHere(tag)) return;
      for (const frame of result.send) this.host.held.send(ws, state, frame);
      if (result.refused) this.#logRefusal(tag, state.socketId, result.refused);
    } catch (error) {
      // A bug: this answer is lost; the socket and its object carry on. Caught here, since nothing awaits this.
      console.error(`[${this.host.log.name()}] a later answer failed:`, error);
    }
  }

  #logRefusal(tag: string, socketId: string, refused: { event?: string; code: string }): void {
    if (this.host.guard.mayLog(tag, Date.now())) {
      this.host.log.line("refusal", { object: this.host.log.name(), socket: socketId, ...refused });
    }
  }

  /** Rate limits each frame: answers the first refusals, drops the rest, closes a flood. */
  #withinRateLimit(ws: WebSocket, tag: string, message: string | ArrayBuffer): boolean {
    const { held, guard } = this.host;
    const verdict = guard.admit(tag, message, Date.now());
    if (verdict.kind === "admit") return true;
    if (verdict.kind === "refuse") {
      const state = held.state(ws, tag);
      if (state) held.send(ws, state, verdict.answer);
    } else if (verdict.kind === "close") {
      const socket = held.state(ws, tag)?.socketId ?? tag;
      this.host.log.line("refusal", {
        object: this.host.log.name(),
        socket,
        code: "ERR_RATE_LIMITED",
        action: "closed",
        refused: verdict.refused,
      });
      void this.host.queues.run(tag, () =>
        this.host.departures.drop(ws, tag, CLOSE_POLICY_VIOLATION, "rate limit exceeded"),
      );
    }
    return false;
  }

  /**
   * What the connection layer needs for one socket's frame. The signaling
   * services are the same for every frame and built once per instance;
   * only the disconnect hand-off is the socket's own.
   */
  #context(ws: WebSocket, tag: string): ConnectionContext {
    const config = this.host.config();
    const services = this.#signalingServices(config);
    const { departures, keeper } = this.host;
    return {
      maxPayload: config.maxFrameBytes,
      now: Date.now,
      verifyAppToken: services.verifyAppToken,
      handleEvent: (state, event) => routeEvent(state, event, services),
      handleDisconnect: async (state) => {
        await departures.leaveAll(ws, tag);
        if (state.recovery) await keeper.end(state);
      },
      newPid: () => keeper.newPid(),
      resume: async (claim) => {
        // The socket takes the session's id and state inside resume, with no wait after.
        const resumed = await this.host.claims.resume(claim, { ws, tag });
        if (!resumed) return null;
        const { state, missed } = resumed.handed;
        // Its old socket here is closed without letting the session go; another object closes its own.
        if (resumed.superseded) departures.supersede(resumed.superseded);
        // Its rooms send its events here from now on, and tell it of the join requests it was not
        // told of; after this answer and what it missed are sent.
        const { owedNotices } = resumed.handed;
        if (resumed.remote || owedNotices.length > 0) {
          void this.host.queues.run(tag, () => departures.rehome(state, owedNotices));
        }
        return { state, missed };
      },
    };
  }

  #signalingServices(config: SocketConfig): SignalingServices {
    if (this.#services) return this.#services;
    const secret = () => this.host.tokenSecret();
    const sessions = this.host.sessions;
    this.#services = {
      maxPeerinfoBytes: config.maxPeerinfoBytes,
      maxPayloadBytes: config.maxPayloadBytes,
      maxRoomsPerSocket: config.maxRoomsPerSocket,
      home: this.host.self,
      rooms: this.host.gateway,
      newRoomName: () => crypto.randomUUID(),
      verifyAppToken: (token) => verifyAppToken(secret(), token),
      verifySessionToken: (token, binding) =>
        sessions.check(binding.connection, token, Date.now(), () => verifySessionToken(secret(), token, binding)),
      signSessionToken: async (binding) => {
        const now = new Date();
        const lifetimeSeconds = config.tokenLifetimeSeconds;
        const token = await signSessionToken(secret(), { ...binding, lifetimeSeconds }, now);
        // Signed here just now: its first use (a create, a join request) need not check its HMAC either.
        sessions.remember(binding.connection, token, (Math.floor(now.getTime() / 1000) + lifetimeSeconds) * 1000);
        return token;
      },
    };
    return this.#services;
  }
}
