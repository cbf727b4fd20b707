import { DurableObject } from "cloudflare:workers";
import { signSessionToken, verifyAppToken, verifySessionToken } from "../auth/tokens";
import { VerifiedSessions } from "../auth/verified-sessions";
import { readSocketConfig, readTokenSecret, type SocketConfig } from "../config";
import type { Env } from "../env";
import { ENGINE_NOOP, ENGINE_PING, ENGINE_PONG, encodeEngineMessage, encodeOpenPacket } from "../protocol/engine-io";
import { failure, refusal, success } from "../protocol/errors";
import { ackIdOf, encodeAck, encodeEvent } from "../protocol/socket-io";
import { applyMembership } from "../signaling/membership";
import type { RoomGateway } from "../signaling/room-requests";
import { type RoomAction, relayedEvent } from "../signaling/room-rules";
import type { Peer, RoomRef } from "../signaling/room-store";
import { routeEvent } from "../signaling/router";
import { authDeadline, authOverdue, CLOSE_AUTH_TIMEOUT } from "../socket/auth-deadline";
import { type ConnectionContext, handleFrame } from "../socket/connection";
import { newConnection } from "../socket/connection-state";
import { CLOSE_PING_TIMEOUT, heartbeatDue, missedPong } from "../socket/heartbeat";
import { randomId } from "../socket/ids";
import { LogQuota } from "../socket/log-quota";
import { placementFromQuery, roomObjectName } from "../socket/placement";
import { REFUSAL_WINDOW_MS, TokenBucket } from "../socket/rate-limit";
import { CachedKvStore } from "./cached-kv-store";
import { Connections } from "./connections";
import type { OutgoingFrame } from "./delivery";
import { log } from "./log";
import { type AuthorityReply, RoomAuthority } from "./room-authority";
import { type Roster, Rosters } from "./rosters";
import { SqlKvStore } from "./sql-kv-store";

const LAST_PING_KEY = "heartbeat:lastPingAt";
const CLOSE_INTERNAL_ERROR = 1011;
const CLOSE_POLICY_VIOLATION = 1008;
/** Refusals logged one by one per socket and window; the rest are counted in its close line. */
const LOGGED_REFUSALS = 5;

/** What an object keeps in memory per socket: its rate limit and its log quota. */
interface SocketGuard {
  bucket: TokenBucket;
  logs: LogQuota;
}

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
  /** Rate limits and log quotas, in memory: a hibernated object had idle sockets, whose buckets would be full anyway. */
  readonly #guards = new Map<string, SocketGuard>();
  /** Connection state, in memory and in each socket's attachment. */
  readonly #connections = new Connections();
  /**
   * Sockets this object closed itself and has already let go of: the
   * runtime still reports their close, which must not be handled (or logged) twice.
   */
  readonly #closedHere = new Set<string>();
  /** Session tokens already verified, per socket: the relay path checks an HMAC once, not per message. */
  readonly #sessions = new VerifiedSessions();
  /** Room object ids by name: hashing a name is not free, and a relay needs it every time. */
  readonly #roomIds = new Map<string, DurableObjectId>();
  /** The members of the rooms this object's sockets are in, and where their sockets are: the one-hop relay's map. */
  readonly #rosters = new Rosters();
  /** The room's state: in memory, written through to SQLite, read from it once per instance. */
  #store: CachedKvStore | undefined;
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
      deliverHere: (ref, frames, roster) => this.#deliverHere(ref, frames, roster),
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
    if (this.ctx.getWebSockets().length >= config.maxSocketsPerObject) {
      log("socket-refused", { object: this.#name(), reason: "ERR_TOO_MANY_SOCKETS" });
      return Response.json(
        {
          code: 4,
          message: "Forbidden",
          reason: "ERR_TOO_MANY_SOCKETS",
          detail: `This room holds its maximum of ${config.maxSocketsPerObject} sockets; try again later`,
        },
        { status: 503, headers: { "Retry-After": "10" } },
      );
    }

    const { 0: client, 1: server } = new WebSocketPair();
    const now = Date.now();
    const state = newConnection({
      engineId: randomId(),
      socketId: randomId(),
      openedAt: now,
      app: placement.placement.app,
    });
    // The tag finds the socket when a room delivers an event to it.
    this.ctx.acceptWebSocket(server, [state.socketId]);
    this.#connections.write(server, state);
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
    // The alarm closes the socket if it has not authenticated by then.
    await this.#wakeBy(Math.min(now + config.pingInterval, now + config.authTimeout));
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    this.#countWake("message");
    const socketId = this.#socketIdOf(ws);
    if (!socketId) return closeQuietly(ws, CLOSE_INTERNAL_ERROR, "connection state lost");
    if (this.#closedHere.has(socketId) || !this.#withinRateLimit(ws, socketId, message)) return;
    await this.#serially(socketId, () => this.#onMessage(ws, socketId, message));
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    const socketId = this.#socketIdOf(ws) ?? "";
    await this.#serially(socketId, async () => {
      // A socket this object closed was let go of when it was closed.
      if (this.#closedHere.delete(socketId)) return;
      this.#closed(ws, socketId, code, reason);
      await this.#leaveAll(ws, socketId);
      this.#connections.forget(socketId);
      // 1005, 1006 and 1015 mean no Close frame came: the transport is gone,
      // and answering would fail later inside the runtime, where no catch
      // sees it ("WebSocket peer disconnected"). Otherwise complete the
      // closing handshake (recent runtimes also do it themselves).
      if (code !== 1005 && code !== 1006 && code !== 1015) closeQuietly(ws, code, reason);
    });
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    const socketId = this.#socketIdOf(ws) ?? "";
    // An error on a socket already closed is the teardown of a gone peer, not news.
    if (this.#closedHere.has(socketId)) return;
    console.warn(`[${this.#name()}] websocket error:`, error);
    await this.#serially(socketId, () => this.#drop(ws, socketId, CLOSE_INTERNAL_ERROR, "websocket error"));
  }

  /**
   * One alarm for all periodic work: close sockets that missed their
   * `auth-request` deadline, ping every socket and close those that missed
   * the previous ping; then the room's upkeep (requests that waited too long,
   * members whose sockets vanished). An object with neither sockets nor a
   * room schedules nothing and leaves no storage behind.
   */
  override async alarm(): Promise<void> {
    this.#countWake("alarm");
    const config = this.#config();
    const now = Date.now();
    const nextSweep = await this.#sweep(now, config);
    const room = await this.#room.upkeep(now);

    const next = [nextSweep, room.exists ? now + config.pingInterval : null, room.nextExpiry].filter(
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
  async roomAction(ref: RoomRef, actor: Peer, action: RoomAction): Promise<AuthorityReply> {
    this.#countWake("rpc");
    return this.#room.act(ref, actor, action, Date.now());
  }

  /**
   * RPC: sends frames a room encoded to sockets held here, recording how
   * their membership of the room changed, and the room's roster if it
   * changed. Returns the ids of sockets that are no longer here, so the room
   * can let them go.
   */
  async deliver(ref: RoomRef, frames: OutgoingFrame[], roster?: Roster): Promise<string[]> {
    this.#countWake("rpc");
    return this.#deliverHere(ref, frames, roster);
  }

  /**
   * RPC: the one hop of a relay from a socket in another object. Sends
   * `frame` to socket `to` only if, as this object knows it, `to` is a
   * member of the room; false otherwise (the sender then asks the room).
   */
  async relay(ref: RoomRef, to: string, frame: string): Promise<boolean> {
    this.#countWake("rpc");
    return this.#relayHere(ref, to, frame);
  }

  /** RPC: which of these sockets are held here (for a room's audit of its members). */
  async present(ids: string[]): Promise<string[]> {
    this.#countWake("rpc");
    return this.#presentHere(ids);
  }

  // ---- internals -------------------------------------------------------

  async #onMessage(ws: WebSocket, socketId: string, message: string | ArrayBuffer): Promise<void> {
    const state = this.#connections.read(ws, socketId);
    if (!state) return closeQuietly(ws, CLOSE_INTERNAL_ERROR, "connection state lost");
    try {
      const result = await handleFrame(state, message, this.#context(this.#config(), ws, socketId));
      if (result.update) this.#connections.update(ws, socketId, result.update);
      for (const frame of result.send) sendQuietly(ws, frame);
      if (result.refused && this.#guardOf(socketId).logs.take(Date.now())) {
        log("refusal", { object: this.#name(), socket: socketId, ...result.refused });
      }
      if (result.close) await this.#drop(ws, socketId, result.close.code, result.close.reason);
    } catch (error) {
      // Only a bug or a misconfiguration gets here; the peer's socket is
      // closed, every other socket of this object carries on.
      console.error(`[${this.#name()}] socket ${socketId}:`, error);
      await this.#drop(ws, socketId, CLOSE_INTERNAL_ERROR, "internal error");
    }
  }

  /**
   * Spends a token for this frame. The first refusals of a window are
   * answered (with the ack, if the frame asked for one); later ones are
   * dropped without a word; a flood is closed.
   */
  #withinRateLimit(ws: WebSocket, socketId: string, message: string | ArrayBuffer): boolean {
    const guard = this.#guardOf(socketId);
    const verdict = guard.bucket.take(Date.now());
    if (verdict === "allow") return true;
    if (verdict === "drop") return false;
    if (verdict === "close") {
      log("refusal", {
        object: this.#name(),
        socket: socketId,
        code: "ERR_RATE_LIMITED",
        action: "closed",
        refused: guard.bucket.refusedInWindow,
      });
      void this.#serially(socketId, () => this.#drop(ws, socketId, CLOSE_POLICY_VIOLATION, "rate limit exceeded"));
      return false;
    }
    const error = refusal("ERR_RATE_LIMITED");
    const ackId = typeof message === "string" ? ackIdOf(message) : undefined;
    if (ackId !== undefined) sendQuietly(ws, encodeEngineMessage(encodeAck(ackId, failure(error))));
    else sendQuietly(ws, encodeEngineMessage(encodeEvent("signaling-error", error)));
    return false;
  }

  #guardOf(socketId: string): SocketGuard {
    let guard = this.#guards.get(socketId);
    if (!guard) {
      const config = this.#config();
      guard = {
        bucket: new TokenBucket({ rate: config.rateLimitPerSecond, capacity: config.rateLimitBurst }, Date.now()),
        logs: new LogQuota(LOGGED_REFUSALS, REFUSAL_WINDOW_MS),
      };
      this.#guards.set(socketId, guard);
    }
    return guard;
  }

  #context(config: SocketConfig, ws: WebSocket, socketId: string): ConnectionContext {
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
      handleDisconnect: () => this.#leaveAll(ws, socketId),
    };
  }

  /** Rooms held here are reached directly: the zero-hop path. Others over RPC. */
  /**
   * How this object's sockets reach rooms. A relay between members goes
   * straight to the receiver's object (or socket, when it is held here); any
   * other request, and a relay the direct path cannot place, goes to the
   * room's object: directly when that is this object (the zero-hop
   * placement), over RPC otherwise.
   */
  readonly #gateway: RoomGateway = {
    request: async (ref, actor, action) => {
      if (action.kind === "relay") {
        const relayed = await this.#relayDirect(ref, actor, action);
        if (relayed) return relayed;
      }
      const reply = await this.#askRoom(ref, actor, action);
      if (reply.roster) this.#rosters.set(ref, reply.roster);
      else if (reply.membership === "left") this.#rosters.forget(ref);
      return reply;
    },
  };

  async #askRoom(ref: RoomRef, actor: Peer, action: RoomAction): Promise<AuthorityReply> {
    const id = this.#roomIdOf(ref);
    if (id.equals(this.ctx.id)) return await this.#room.act(ref, actor, action, Date.now());
    try {
      return await this.env.ROOMS.get(id).roomAction(ref, actor, action);
    } catch (error) {
      console.error(`[${this.#name()}] room unreachable:`, error);
      const error_ = refusal("ERR_ROOM_UNAVAILABLE");
      return { outcome: failure(error_), reply: [["signaling-error", { ...error_, room: ref.room }]] };
    }
  }

  /**
   * The one-hop relay: the sender's membership as this object knows it, the
   * receiver's object from the roster, and that object checks the receiver's
   * membership as it knows it. So a relay is delivered only if both ends were
   * members when their objects handled it. Null when this path cannot decide
   * (no roster, a refusal, an unreachable object): the room decides instead.
   */
  async #relayDirect(
    ref: RoomRef,
    actor: Peer,
    action: Extract<RoomAction, { kind: "relay" }>,
  ): Promise<AuthorityReply | null> {
    if (action.to === actor.id) return null;
    const home = this.#rosters.homeOf(ref, action.to);
    if (home === undefined) return null;
    const ws = this.ctx.getWebSockets(actor.id)[0];
    const sender = ws ? this.#connections.read(ws, actor.id) : null;
    if (!sender?.rooms.includes(ref.room)) return null;
    const data = relayedEvent(ref.room, actor, action.what, action.body, action.payload);
    const frame = encodeEngineMessage(encodeEvent(action.what, data));
    let delivered: boolean;
    try {
      delivered =
        home === this.#self
          ? this.#relayHere(ref, action.to, frame)
          : await this.#stubOf(home).relay(ref, action.to, frame);
    } catch (error) {
      console.error(`[${this.#name()}] relay to ${home} failed:`, error);
      return null;
    }
    return delivered ? { outcome: success({ room: ref.room, to: action.to }), reply: [] } : null;
  }

  #relayHere(ref: RoomRef, to: string, frame: string): boolean {
    const ws = this.ctx.getWebSockets(to)[0];
    if (!ws || this.#closedHere.has(to)) return false;
    const receiver = this.#connections.read(ws, to);
    if (receiver?.app !== ref.app || !receiver.rooms.includes(ref.room)) return false;
    return sendQuietly(ws, frame);
  }

  /** The id of a room's object: hashing a name is not free, and every request to a room needs it. */
  #roomIdOf(ref: RoomRef): DurableObjectId {
    const name = roomObjectName(ref.app, ref.room);
    let id = this.#roomIds.get(name);
    if (!id) {
      id = this.env.ROOMS.idFromName(name);
      // Bounded: a socket is in at most MAX_ROOMS_PER_SOCKET rooms, and stale names cost little.
      if (this.#roomIds.size > 1_000) this.#roomIds.clear();
      this.#roomIds.set(name, id);
    }
    return id;
  }

  #stubOf(id: string) {
    return this.env.ROOMS.get(this.env.ROOMS.idFromString(id));
  }

  #deliverHere(ref: RoomRef, frames: OutgoingFrame[], roster?: Roster): string[] {
    if (roster) this.#rosters.set(ref, roster);
    const room = ref.room;
    const missing: string[] = [];
    for (const item of frames) {
      const ws = this.ctx.getWebSockets(item.to)[0];
      const change = item.membership;
      // Only a membership change needs the connection's state; a relay just sends.
      if (
        !ws ||
        (change && !this.#connections.update(ws, item.to, (current) => applyMembership(current, room, change)))
      ) {
        missing.push(item.to);
        continue;
      }
      if (!sendQuietly(ws, item.frame)) missing.push(item.to);
    }
    return missing;
  }

  /**
   * Closes the sockets past their auth deadline; when a ping is due, closes
   * those that missed the previous one and pings the rest. Returns when the
   * next sweep is due (a ping or an auth deadline), or null when no socket is left.
   */
  async #sweep(now: number, config: SocketConfig): Promise<number | null> {
    const lastPingAt = (await this.ctx.storage.get<number>(LAST_PING_KEY)) ?? null;
    // An early alarm (a join request's expiry, an auth deadline) soon after a ping: pongs may still be on their way.
    const pingDue = heartbeatDue(lastPingAt, now, config.pingTimeout);
    let live = 0;
    let nextDeadline: number | null = null;
    for (const ws of this.ctx.getWebSockets()) {
      const socketId = this.#socketIdOf(ws);
      const state = socketId ? this.#connections.read(ws, socketId) : null;
      if (!socketId || !state) {
        closeQuietly(ws, CLOSE_INTERNAL_ERROR, "connection state lost");
        continue;
      }
      if (this.#closedHere.has(socketId)) continue;
      if (authOverdue(state, config.authTimeout, now)) {
        await this.#serially(socketId, () => this.#drop(ws, socketId, CLOSE_AUTH_TIMEOUT, "auth timeout"));
        continue;
      }
      if (pingDue) {
        const autoPong = this.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? -1;
        const lastPongAt = Math.max(autoPong, state.lastPongAt ?? -1);
        if (missedPong({ openedAt: state.openedAt, lastPongAt: lastPongAt < 0 ? null : lastPongAt }, lastPingAt)) {
          await this.#serially(socketId, () => this.#drop(ws, socketId, CLOSE_PING_TIMEOUT, "ping timeout"));
          continue;
        }
        if (!sendQuietly(ws, ENGINE_PING)) continue;
      }
      live++;
      const deadline = authDeadline(state, config.authTimeout);
      if (deadline !== null && (nextDeadline === null || deadline < nextDeadline)) nextDeadline = deadline;
    }
    if (live === 0) {
      if (lastPingAt !== null) await this.ctx.storage.delete(LAST_PING_KEY);
      return null;
    }
    if (pingDue) await this.ctx.storage.put(LAST_PING_KEY, now);
    const nextPing = (pingDue ? now : (lastPingAt as number)) + config.pingInterval;
    return nextDeadline === null ? nextPing : Math.min(nextPing, nextDeadline);
  }

  /** The connection leaves every room it is in and withdraws every request it made. Never throws. */
  async #leaveAll(ws: WebSocket, socketId: string): Promise<void> {
    const state = this.#connections.read(ws, socketId);
    if (!state?.app) return;
    const actor: Peer = { id: socketId, home: this.#self, peerinfo: state.peerinfo };
    for (const room of new Set([...state.rooms, ...state.requested])) {
      try {
        await this.#gateway.request({ app: state.app, room }, actor, { kind: "drop" });
      } catch (error) {
        // The room's audit lets the peer go later.
        console.error(`[${this.#name()}] leaving a room failed:`, error);
      }
    }
    try {
      this.#connections.update(ws, socketId, (current) => ({ ...current, rooms: [], requested: [] }));
    } catch (error) {
      console.error(`[${this.#name()}] socket ${socketId}: clearing its rooms failed:`, error);
    }
  }

  /**
   * Closes a socket from the server side and lets it go at once: its rooms
   * hear of its departure now, and the close the runtime reports later is
   * not handled again. Never throws.
   */
  async #drop(ws: WebSocket, socketId: string, code: number, reason: string): Promise<void> {
    if (this.#closedHere.has(socketId)) return;
    this.#closedHere.add(socketId);
    this.#closed(ws, socketId, code, reason);
    await this.#leaveAll(ws, socketId);
    this.#connections.forget(socketId);
    closeQuietly(ws, code, reason);
  }

  /** Forgets what memory held for the socket, and logs its close: once per socket. */
  #closed(ws: WebSocket, socketId: string, code: number, reason: string): void {
    const state = this.#connections.read(ws, socketId);
    const guard = this.#guards.get(socketId);
    this.#guards.delete(socketId);
    this.#sessions.forget(socketId);
    const fields: Record<string, unknown> = { object: this.#name(), socket: socketId, code, reason };
    if (state) fields.seconds = Math.round((Date.now() - state.openedAt) / 1000);
    if (guard?.logs.held) fields.unloggedRefusals = guard.logs.held;
    log("socket-close", fields);
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

  #kv(): CachedKvStore {
    this.#store ??= new CachedKvStore(new SqlKvStore(this.ctx.storage.sql));
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
    // A close reason is at most 123 bytes of UTF-8; ours are short ASCII, so characters are bytes.
    ws.close(code, reason.slice(0, 123));
  } catch {
    // already closed
  }
}
