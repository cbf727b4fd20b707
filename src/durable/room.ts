import { DurableObject } from "cloudflare:workers";
import { signSessionToken, verifyAppToken, verifySessionToken } from "../auth/tokens";
import { VerifiedSessions } from "../auth/verified-sessions";
import { readSocketConfig, readTokenSecret, type SocketConfig } from "../config";
import type { Env } from "../env";
import { ENGINE_NOOP, ENGINE_PING, ENGINE_PONG, encodeEngineMessage, encodeOpenPacket } from "../protocol/engine-io";
import { failure, refusal } from "../protocol/errors";
import { ackIdOf, encodeAck, encodeEvent } from "../protocol/socket-io";
import { applyMembership } from "../signaling/membership";
import type { RoomGateway, RoomReply } from "../signaling/room-requests";
import type { RoomAction } from "../signaling/room-rules";
import type { Peer, RoomRef } from "../signaling/room-store";
import { routeEvent } from "../signaling/router";
import { type ConnectionContext, handleFrame } from "../socket/connection";
import { newConnection } from "../socket/connection-state";
import { CLOSE_PING_TIMEOUT, heartbeatDue, missedPong } from "../socket/heartbeat";
import { randomId } from "../socket/ids";
import { placementFromQuery, roomObjectName } from "../socket/placement";
import { TokenBucket } from "../socket/rate-limit";
import { readConnection, updateConnection, writeConnection } from "./attachment";
import type { OutgoingFrame } from "./delivery";
import { log } from "./log";
import { RoomAuthority } from "./room-authority";
import { SqlKvStore } from "./sql-kv-store";

const LAST_PING_KEY = "heartbeat:lastPingAt";
const CLOSE_INTERNAL_ERROR = 1011;
const CLOSE_POLICY_VIOLATION = 1008;

/**
 * A Durable Object with two roles, often both at once:
 * - it **hosts sockets**: those that named this room when connecting, or the
 *   one socket that named no room and got this object to itself;
 * - it **is a room** (src/durable/room-authority.ts): authoritative, in its
 *   SQLite storage, for the members and waiting requests of the one room
 *   whose name it was created under.
 * A socket's requests for a room hosted elsewhere reach that room over RPC
 * (`roomAction`), and the room's events reach sockets hosted elsewhere over
 * RPC (`deliver`). Entry points only restore state and hand off to the pure
 * code in socket/ and signaling/; nothing a peer sends may throw out of them.
 */
export class Room extends DurableObject<Env> {
  readonly #self = this.ctx.id.toString();
  /** Frames of one socket are handled in order, one at a time; sockets do not wait for each other. */
  readonly #queues = new Map<string, Promise<unknown>>();
  /** Rate limits, in memory: a hibernated object had idle sockets, whose buckets would be full anyway. */
  readonly #buckets = new Map<string, TokenBucket>();
  /** Session tokens already verified, per socket: the relay path checks an HMAC once, not per message. */
  readonly #sessions = new VerifiedSessions();
  /** Room object ids by name: hashing a name is not free, and a relay needs it every time. */
  readonly #roomIds = new Map<string, DurableObjectId>();
  #store: SqlKvStore | undefined;
  #settings: SocketConfig | undefined;
  readonly #room: RoomAuthority;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // Pongs are answered by the runtime itself, without waking the object;
    // the alarm reads when from getWebSocketAutoResponseTimestamp(). The
    // answer is an Engine.IO noop, which clients ignore.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(ENGINE_PONG, ENGINE_NOOP));
    this.#room = new RoomAuthority({
      env,
      self: this.#self,
      kv: () => this.#kv(),
      limits: () => {
        const config = this.#config();
        return { maxMembers: config.maxRoomMembers, maxPendingRequests: config.maxPendingRequests };
      },
      joinRequestTimeout: () => this.#config().joinRequestTimeout,
      upkeepInterval: () => this.#config().pingInterval,
      deliverHere: (room, frames) => this.#deliverHere(room, frames),
      presentHere: (ids) => this.#presentHere(ids),
      waitUntil: (work) => this.ctx.waitUntil(work),
      wakeBy: (at) => this.#wakeBy(at),
      name: () => this.#name(),
    });
    if (env.LOG_WAKES === "true") log("object-start", { object: this.#name() });
  }

  // ---- sockets ---------------------------------------------------------

  /** Accepts a WebSocket upgrade that the worker has already checked and placed here. */
  override async fetch(request: Request): Promise<Response> {
    const placement = placementFromQuery(new URL(request.url));
    if (!placement.ok) return Response.json(placement.error, { status: 400 });
    const config = this.#config();

    const { 0: client, 1: server } = new WebSocketPair();
    const state = newConnection({
      engineId: randomId(),
      socketId: randomId(),
      openedAt: Date.now(),
      app: placement.placement.app,
    });
    // The tag finds the socket when a room delivers an event to it.
    this.ctx.acceptWebSocket(server, [state.socketId]);
    writeConnection(server, state);
    server.send(
      encodeOpenPacket({
        sid: state.engineId,
        upgrades: [],
        pingInterval: config.pingInterval,
        pingTimeout: config.pingTimeout,
        maxPayload: config.maxFrameBytes,
      }),
    );
    log("socket-open", { object: this.#name(), socket: state.socketId, placement: placement.placement.kind });
    await this.#wakeBy(Date.now() + config.pingInterval);
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    this.#countWake("message");
    const socketId = this.#socketIdOf(ws);
    if (!socketId) return closeQuietly(ws, CLOSE_INTERNAL_ERROR, "connection state lost");
    if (!this.#withinRateLimit(ws, socketId, message)) return;
    await this.#serially(socketId, () => this.#onMessage(ws, message));
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    await this.#serially(this.#socketIdOf(ws) ?? "", async () => {
      this.#closed(ws, code, reason);
      await this.#leaveAll(ws);
      // Complete the closing handshake. 1005/1006/1015 only describe a close
      // and cannot be sent; answering with them throws.
      closeQuietly(ws, code === 1005 || code === 1006 || code === 1015 ? 1000 : code, reason);
    });
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    console.warn(`[${this.#name()}] websocket error:`, error);
    await this.#serially(this.#socketIdOf(ws) ?? "", () => this.#drop(ws, CLOSE_INTERNAL_ERROR, "websocket error"));
  }

  /**
   * One alarm for all periodic work: ping every socket and close those that
   * missed the previous ping; then the room's upkeep (requests that waited
   * too long, members whose sockets vanished). An object with neither
   * sockets nor a room schedules nothing and leaves no storage behind.
   */
  override async alarm(): Promise<void> {
    this.#countWake("alarm");
    const config = this.#config();
    const now = Date.now();
    const nextPing = await this.#heartbeat(now, config);
    const room = await this.#room.upkeep(now);

    const next = [nextPing, room.exists ? now + config.pingInterval : null, room.nextExpiry].filter(
      (at): at is number => at !== null,
    );
    if (next.length > 0) {
      await this.ctx.storage.setAlarm(Math.min(...next));
      return;
    }
    // Nothing left: no sockets, no room. Leave nothing behind.
    await this.ctx.storage.deleteAll();
    this.#store = undefined;
  }

  // ---- RPC between objects -----------------------------------------------

  /** RPC: runs a request of `actor` in the room this object is for, and returns what the requester gets. */
  async roomAction(ref: RoomRef, actor: Peer, action: RoomAction): Promise<RoomReply> {
    this.#countWake("rpc");
    return this.#room.act(ref, actor, action, Date.now());
  }

  /**
   * RPC: sends frames a room encoded to sockets held here, recording how
   * their membership of `room` changed. Returns the ids of sockets that are
   * no longer here, so the room can let them go.
   */
  async deliver(room: string, frames: OutgoingFrame[]): Promise<string[]> {
    this.#countWake("rpc");
    return this.#deliverHere(room, frames);
  }

  /** RPC: which of these sockets are held here (for a room's audit of its members). */
  async present(ids: string[]): Promise<string[]> {
    this.#countWake("rpc");
    return this.#presentHere(ids);
  }

  // ---- internals -------------------------------------------------------

  async #onMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const state = readConnection(ws);
    if (!state) return closeQuietly(ws, CLOSE_INTERNAL_ERROR, "connection state lost");
    try {
      const result = await handleFrame(state, message, this.#context(this.#config(), ws));
      if (result.update) updateConnection(ws, result.update);
      for (const frame of result.send) sendQuietly(ws, frame);
      if (result.refused) log("refusal", { object: this.#name(), socket: state.socketId, ...result.refused });
      if (result.close) await this.#drop(ws, result.close.code, result.close.reason);
    } catch (error) {
      // Only a bug or a misconfiguration gets here; the peer's socket is
      // closed, every other socket of this object carries on.
      console.error(`[${this.#name()}] socket ${state.socketId}:`, error);
      await this.#drop(ws, CLOSE_INTERNAL_ERROR, "internal error");
    }
  }

  /** Spends a token for this frame; refuses it (answering its ack) or closes a flooding socket. */
  #withinRateLimit(ws: WebSocket, socketId: string, message: string | ArrayBuffer): boolean {
    const config = this.#config();
    let bucket = this.#buckets.get(socketId);
    if (!bucket) {
      bucket = new TokenBucket({ rate: config.rateLimitPerSecond, capacity: config.rateLimitBurst }, Date.now());
      this.#buckets.set(socketId, bucket);
    }
    const verdict = bucket.take(Date.now());
    if (verdict === "allow") return true;
    if (verdict === "close") {
      log("refusal", { object: this.#name(), socket: socketId, code: "ERR_RATE_LIMITED", action: "closed" });
      void this.#serially(socketId, () => this.#drop(ws, CLOSE_POLICY_VIOLATION, "rate limit exceeded"));
      return false;
    }
    const error = refusal("ERR_RATE_LIMITED");
    const ackId = typeof message === "string" ? ackIdOf(message) : undefined;
    if (ackId !== undefined) sendQuietly(ws, encodeEngineMessage(encodeAck(ackId, failure(error))));
    else sendQuietly(ws, encodeEngineMessage(encodeEvent("signaling-error", error)));
    return false;
  }

  #context(config: SocketConfig, ws: WebSocket): ConnectionContext {
    const secret = () => readTokenSecret(this.env);
    return {
      maxPayload: config.maxFrameBytes,
      now: () => Date.now(),
      verifyAppToken: (token) => verifyAppToken(secret(), token),
      handleEvent: (state, event) =>
        routeEvent(state, event, {
          maxPeerinfoBytes: config.maxPeerinfoBytes,
          maxPayloadBytes: config.maxPayloadBytes,
          maxRoomsPerSocket: config.maxRoomsPerSocket,
          home: this.#self,
          rooms: this.#gateway,
          newRoomName: () => crypto.randomUUID(),
          verifyAppToken: (token) => verifyAppToken(secret(), token),
          verifySessionToken: (token, binding) =>
            this.#sessions.check(binding.connection, token, Date.now(), () =>
              verifySessionToken(secret(), token, binding),
            ),
          signSessionToken: (binding) =>
            signSessionToken(secret(), { ...binding, lifetimeSeconds: config.tokenLifetimeSeconds }),
        }),
      handleDisconnect: () => this.#leaveAll(ws),
    };
  }

  /** Rooms held here are reached directly: the zero-hop path. Others over RPC. */
  readonly #gateway: RoomGateway = {
    request: async (ref, actor, action) => {
      const name = roomObjectName(ref.app, ref.room);
      let id = this.#roomIds.get(name);
      if (!id) {
        id = this.env.ROOMS.idFromName(name);
        // Bounded: a socket is in at most MAX_ROOMS_PER_SOCKET rooms, and stale names cost little.
        if (this.#roomIds.size > 1_000) this.#roomIds.clear();
        this.#roomIds.set(name, id);
      }
      if (id.equals(this.ctx.id)) return await this.#room.act(ref, actor, action, Date.now());
      try {
        return await this.env.ROOMS.get(id).roomAction(ref, actor, action);
      } catch (error) {
        console.error(`[${this.#name()}] room unreachable:`, error);
        const error_ = refusal("ERR_ROOM_UNAVAILABLE");
        return { outcome: failure(error_), reply: [["signaling-error", { ...error_, room: ref.room }]] };
      }
    },
  };

  #deliverHere(room: string, frames: OutgoingFrame[]): string[] {
    const missing: string[] = [];
    for (const item of frames) {
      const ws = this.ctx.getWebSockets(item.to)[0];
      const change = item.membership;
      // Only a membership change needs the attachment; a relay just sends.
      if (!ws || (change && !updateConnection(ws, (current) => applyMembership(current, room, change)))) {
        missing.push(item.to);
        continue;
      }
      if (!sendQuietly(ws, item.frame)) missing.push(item.to);
    }
    return missing;
  }

  /**
   * Pings every socket, closing those that missed the previous ping. Returns
   * when the next ping is due, or null when no socket is left.
   */
  async #heartbeat(now: number, config: SocketConfig): Promise<number | null> {
    const sockets = this.ctx.getWebSockets();
    const lastPingAt = (await this.ctx.storage.get<number>(LAST_PING_KEY)) ?? null;
    if (sockets.length > 0 && !heartbeatDue(lastPingAt, now, config.pingTimeout)) {
      // An early alarm (a join request's expiry) soon after a ping: pongs may still be on their way.
      return (lastPingAt as number) + config.pingInterval;
    }
    let pinged = 0;
    for (const ws of sockets) {
      const state = readConnection(ws);
      if (!state) {
        closeQuietly(ws, CLOSE_INTERNAL_ERROR, "connection state lost");
        continue;
      }
      const autoPong = this.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? -1;
      const lastPongAt = Math.max(autoPong, state.lastPongAt ?? -1);
      if (missedPong({ openedAt: state.openedAt, lastPongAt: lastPongAt < 0 ? null : lastPongAt }, lastPingAt)) {
        await this.#serially(state.socketId, () => this.#drop(ws, CLOSE_PING_TIMEOUT, "ping timeout"));
        continue;
      }
      if (sendQuietly(ws, ENGINE_PING)) pinged++;
    }
    if (pinged === 0) {
      await this.ctx.storage.delete(LAST_PING_KEY);
      return null;
    }
    await this.ctx.storage.put(LAST_PING_KEY, now);
    return now + config.pingInterval;
  }

  /** The connection leaves every room it is in and withdraws every request it made. */
  async #leaveAll(ws: WebSocket): Promise<void> {
    const state = readConnection(ws);
    if (!state?.app) return;
    const actor: Peer = { id: state.socketId, home: this.#self, peerinfo: state.peerinfo };
    for (const room of new Set([...state.rooms, ...state.requested])) {
      try {
        await this.#gateway.request({ app: state.app, room }, actor, { kind: "drop" });
      } catch (error) {
        // The room's audit lets the peer go later.
        console.error(`[${this.#name()}] leaving a room failed:`, error);
      }
    }
    updateConnection(ws, (current) => ({ ...current, rooms: [], requested: [] }));
  }

  /** Closes a socket from the server side, which fires no webSocketClose, so its departure is handled here. */
  async #drop(ws: WebSocket, code: number, reason: string): Promise<void> {
    this.#closed(ws, code, reason);
    await this.#leaveAll(ws);
    closeQuietly(ws, code, reason);
  }

  #closed(ws: WebSocket, code: number, reason: string): void {
    const state = readConnection(ws);
    if (!state) return;
    this.#buckets.delete(state.socketId);
    this.#sessions.forget(state.socketId);
    const seconds = Math.round((Date.now() - state.openedAt) / 1000);
    log("socket-close", { object: this.#name(), socket: state.socketId, code, reason, seconds });
  }

  /** Makes sure an alarm fires no later than `at`. */
  async #wakeBy(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }

  /**
   * The settings, read once per instance: `env` does not change while an
   * object lives, and every message needs them (rate limit, frame limit, rules).
   */
  #config(): SocketConfig {
    this.#settings ??= readSocketConfig(this.env);
    return this.#settings;
  }

  /** The socket's id is its tag: cheaper than reading its attachment. */
  #socketIdOf(ws: WebSocket): string | undefined {
    return this.ctx.getTags(ws)[0];
  }

  #presentHere(ids: string[]): string[] {
    return ids.filter((id) => this.ctx.getWebSockets(id).length > 0);
  }

  #kv(): SqlKvStore {
    this.#store ??= new SqlKvStore(this.ctx.storage.sql);
    return this.#store;
  }

  #serially<T>(key: string, task: () => Promise<T>): Promise<T> {
    const run = (this.#queues.get(key) ?? Promise.resolve()).then(task);
    // The queue must survive a failed task; the caller still sees the failure.
    const settled = run.catch(() => undefined);
    this.#queues.set(key, settled);
    void settled.then(() => {
      if (this.#queues.get(key) === settled) this.#queues.delete(key);
    });
    return run;
  }

  /** Opt-in (`LOG_WAKES=true`): one line per wake, for measuring idle cost. */
  #countWake(kind: "message" | "alarm" | "rpc"): void {
    if (this.env.LOG_WAKES === "true") log("wake", { object: this.#name(), kind });
  }

  #name(): string {
    return this.ctx.id.name ?? this.#self;
  }
}

function sendQuietly(ws: WebSocket, frame: string): boolean {
  try {
    ws.send(frame);
    return true;
  } catch {
    return false; // closed meanwhile: its close event handles the rest
  }
}

function closeQuietly(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code, reason.slice(0, 123)); // a close reason is at most 123 bytes
  } catch {
    // already closed
  }
}
