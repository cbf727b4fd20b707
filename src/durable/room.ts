import { DurableObject } from "cloudflare:workers";
import { signSessionToken, verifyAppToken, verifySessionToken } from "../auth/tokens";
import { readSocketConfig, readTokenSecret, type SocketConfig } from "../config";
import type { Env } from "../env";
import { ENGINE_NOOP, ENGINE_PING, ENGINE_PONG, encodeOpenPacket } from "../protocol/engine-io";
import { failure, refusal } from "../protocol/errors";
import { applyMembership } from "../signaling/membership";
import type { RoomGateway, RoomReply } from "../signaling/room-requests";
import { applyRoomAction, type Delivery, type RoomAction } from "../signaling/room-rules";
import type { Peer, RoomRef } from "../signaling/room-store";
import { routeEvent } from "../signaling/router";
import { type ConnectionContext, handleFrame } from "../socket/connection";
import { newConnection } from "../socket/connection-state";
import { CLOSE_PING_TIMEOUT, missedPong } from "../socket/heartbeat";
import { randomId } from "../socket/ids";
import { placementFromQuery, roomObjectName } from "../socket/placement";
import { readConnection, updateConnection, writeConnection } from "./attachment";
import { byHome, type OutgoingFrame } from "./delivery";
import { SqlKvStore } from "./sql-kv-store";

const LAST_PING_KEY = "heartbeat:lastPingAt";
const CLOSE_INTERNAL_ERROR = 1011;

/**
 * A Durable Object with two roles, often both at once:
 * - it **hosts sockets**: those that named this room when connecting, or the
 *   one socket that named no room and got this object to itself;
 * - it **is a room**: authoritative, in its SQLite storage, for the members
 *   and pending requests of the one room whose name it was created under.
 * A socket's requests for a room hosted elsewhere reach that room over RPC
 * (`roomAction`), and the room sends events to sockets hosted elsewhere over
 * RPC (`deliver`). Entry points only restore state and hand off to the pure
 * code in socket/ and signaling/; nothing a peer sends may throw out of them.
 */
export class Room extends DurableObject<Env> {
  readonly #self = this.ctx.id.toString();
  /** Frames of one socket are handled in order, one at a time; sockets do not wait for each other. */
  readonly #queues = new Map<string, Promise<unknown>>();
  /** Deliveries to each other object go out in order. */
  readonly #outboxes = new Map<string, Promise<unknown>>();
  #store: SqlKvStore | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // Pongs are answered by the runtime itself, without waking the object;
    // the alarm reads when from getWebSocketAutoResponseTimestamp(). The
    // answer is an Engine.IO noop, which clients ignore.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(ENGINE_PONG, ENGINE_NOOP));
  }

  // ---- sockets ---------------------------------------------------------

  /** Accepts a WebSocket upgrade that the worker has already checked and placed here. */
  override async fetch(request: Request): Promise<Response> {
    const placement = placementFromQuery(new URL(request.url));
    if (!placement.ok) return Response.json(placement.error, { status: 400 });
    const config = readSocketConfig(this.env);

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
    await this.#startHeartbeat(config);
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const state = readConnection(ws);
    if (!state) return closeQuietly(ws, CLOSE_INTERNAL_ERROR, "connection state lost");
    await this.#serially(state.socketId, () => this.#onMessage(ws, message));
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    const state = readConnection(ws);
    await this.#serially(state?.socketId ?? "", async () => {
      await this.#forget(ws);
      // Complete the closing handshake. 1005/1006/1015 only describe a close
      // and cannot be sent; answering with them throws.
      closeQuietly(ws, code === 1005 || code === 1006 || code === 1015 ? 1000 : code, reason);
    });
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    console.warn(`[${this.#name()}] websocket error:`, error);
    const state = readConnection(ws);
    await this.#serially(state?.socketId ?? "", () => this.#drop(ws, CLOSE_INTERNAL_ERROR, "websocket error"));
  }

  /** Pings every socket, and closes those that missed the previous ping. */
  override async alarm(): Promise<void> {
    const config = readSocketConfig(this.env);
    const lastPingAt = (await this.ctx.storage.get<number>(LAST_PING_KEY)) ?? null;
    const now = Date.now();
    let pinged = 0;
    for (const ws of this.ctx.getWebSockets()) {
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
      // Nobody left: no alarm, so an empty object can be evicted.
      await this.ctx.storage.delete(LAST_PING_KEY);
      return;
    }
    await this.ctx.storage.put(LAST_PING_KEY, now);
    await this.ctx.storage.setAlarm(now + config.pingInterval);
  }

  // ---- RPC between objects -----------------------------------------------

  /**
   * RPC: runs a request of `actor` in this room. Delivers the events it
   * causes for other peers, and returns what the requester gets.
   */
  async roomAction(ref: RoomRef, actor: Peer, action: RoomAction): Promise<RoomReply> {
    const config = readSocketConfig(this.env);
    const result = applyRoomAction(
      {
        kv: this.#kv(),
        ref,
        now: Date.now(),
        limits: { maxMembers: config.maxRoomMembers, maxPendingRequests: config.maxPendingRequests },
      },
      actor,
      action,
    );
    this.#dispatch(ref, result.deliveries);
    const reply: RoomReply = { outcome: result.outcome, reply: result.reply };
    if (result.membership) reply.membership = result.membership;
    return reply;
  }

  /**
   * RPC: sends frames a room encoded to sockets held here, recording how
   * their membership of `room` changed. Returns the ids of sockets that are
   * no longer here, so the room can let them go.
   */
  async deliver(room: string, frames: OutgoingFrame[]): Promise<string[]> {
    return this.#deliverHere(room, frames);
  }

  // ---- internals -------------------------------------------------------

  async #onMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const state = readConnection(ws);
    if (!state) return closeQuietly(ws, CLOSE_INTERNAL_ERROR, "connection state lost");
    try {
      const result = await handleFrame(state, message, this.#context(readSocketConfig(this.env), ws));
      if (result.update) updateConnection(ws, result.update);
      for (const frame of result.send) sendQuietly(ws, frame);
      if (result.close) await this.#drop(ws, result.close.code, result.close.reason);
    } catch (error) {
      // Only a bug or a misconfiguration gets here; the peer's socket is
      // closed, every other socket of this object carries on.
      console.error(`[${this.#name()}] socket ${state.socketId}:`, error);
      await this.#drop(ws, CLOSE_INTERNAL_ERROR, "internal error");
    }
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
          verifySessionToken: async (token, binding) => {
            await verifySessionToken(secret(), token, binding);
          },
          signSessionToken: (binding) =>
            signSessionToken(secret(), { ...binding, lifetimeSeconds: config.tokenLifetimeSeconds }),
        }),
      handleDisconnect: () => this.#leaveAll(ws),
    };
  }

  /** Rooms hosted here are reached directly: the zero-hop path. Others over RPC. */
  readonly #gateway: RoomGateway = {
    request: async (ref, actor, action) => {
      const id = this.env.ROOMS.idFromName(roomObjectName(ref.app, ref.room));
      if (id.equals(this.ctx.id)) return this.roomAction(ref, actor, action);
      try {
        return await this.env.ROOMS.get(id).roomAction(ref, actor, action);
      } catch (error) {
        console.error(`[${this.#name()}] room ${JSON.stringify(ref)} unreachable:`, error);
        const error_ = refusal("ERR_ROOM_UNAVAILABLE");
        return { outcome: failure(error_), reply: [["signaling-error", { ...error_, room: ref.room }]] };
      }
    },
  };

  /** Sends a room's events: to sockets held here at once, to other objects through their outboxes. */
  #dispatch(ref: RoomRef, deliveries: Delivery[]): void {
    for (const [home, frames] of byHome(deliveries)) {
      if (home === this.#self) {
        this.#peersGone(ref, this.#deliverHere(ref.room, frames));
        continue;
      }
      const previous = this.#outboxes.get(home) ?? Promise.resolve();
      const sent = previous
        .then(() => this.env.ROOMS.get(this.env.ROOMS.idFromString(home)).deliver(ref.room, frames))
        .then(
          (missing) => this.#peersGone(ref, missing),
          (error) => console.error(`[${this.#name()}] delivery to ${home} failed:`, error),
        );
      this.#outboxes.set(home, sent);
      // Keep the object alive until the delivery is out.
      this.ctx.waitUntil(sent);
      void sent.finally(() => {
        if (this.#outboxes.get(home) === sent) this.#outboxes.delete(home);
      });
    }
  }

  #deliverHere(room: string, frames: OutgoingFrame[]): string[] {
    const missing: string[] = [];
    for (const item of frames) {
      const ws = this.ctx.getWebSockets(item.to)[0];
      if (!ws || !readConnection(ws)) {
        missing.push(item.to);
        continue;
      }
      const change = item.membership;
      if (change) updateConnection(ws, (current) => applyMembership(current, room, change));
      if (!sendQuietly(ws, item.frame)) missing.push(item.to);
    }
    return missing;
  }

  /** Peers whose sockets vanished without a goodbye (a deploy, a crash) leave the room. */
  #peersGone(ref: RoomRef, ids: string[]): void {
    for (const id of ids) {
      const result = this.#apply(ref, { id, home: "", peerinfo: null }, { kind: "drop" });
      this.#dispatch(ref, result);
    }
  }

  #apply(ref: RoomRef, actor: Peer, action: RoomAction): Delivery[] {
    const config = readSocketConfig(this.env);
    const limits = { maxMembers: config.maxRoomMembers, maxPendingRequests: config.maxPendingRequests };
    return applyRoomAction({ kv: this.#kv(), ref, now: Date.now(), limits }, actor, action).deliveries;
  }

  /** The connection leaves every room it is in and withdraws every request it made. */
  async #leaveAll(ws: WebSocket): Promise<void> {
    const state = readConnection(ws);
    if (!state?.app) return;
    const actor: Peer = { id: state.socketId, home: this.#self, peerinfo: state.peerinfo };
    for (const room of new Set([...state.rooms, ...state.requested])) {
      await this.#gateway.request({ app: state.app, room }, actor, { kind: "drop" });
    }
    updateConnection(ws, (current) => ({ ...current, rooms: [], requested: [] }));
  }

  /** A socket is gone (or going): it leaves its rooms. */
  async #forget(ws: WebSocket): Promise<void> {
    try {
      await this.#leaveAll(ws);
    } catch (error) {
      console.error(`[${this.#name()}] leaving rooms failed:`, error);
    }
  }

  /** Closes a socket from the server side, which fires no webSocketClose, so its departure is handled here. */
  async #drop(ws: WebSocket, code: number, reason: string): Promise<void> {
    await this.#forget(ws);
    closeQuietly(ws, code, reason);
  }

  async #startHeartbeat(config: SocketConfig): Promise<void> {
    if ((await this.ctx.storage.getAlarm()) === null) {
      await this.ctx.storage.setAlarm(Date.now() + config.pingInterval);
    }
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
