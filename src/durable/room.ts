import { DurableObject } from "cloudflare:workers";
import { signSessionToken, verifyAppToken, verifySessionToken } from "../auth/tokens";
import { VerifiedSessions } from "../auth/verified-sessions";
import { readSocketConfig, readTokenSecret, type SocketConfig } from "../config";
import type { Env } from "../env";
import { ENGINE_NOOP, ENGINE_PING, ENGINE_PONG, encodeOpenPacket } from "../protocol/engine-io";
import { type ConnectionState, newConnection } from "../signaling/connection-state";
import { applyMembership } from "../signaling/membership";
import type { RoomAction } from "../signaling/room-rules";
import type { Peer, RoomRef } from "../signaling/room-store";
import { routeEvent, type SignalingServices } from "../signaling/router";
import { authDeadline, CLOSE_AUTH_TIMEOUT } from "../socket/auth-deadline";
import { type ConnectionContext, type FrameResult, handleFrame } from "../socket/connection";
import { CLOSE_PING_TIMEOUT, heartbeatDue, judgeSocket } from "../socket/heartbeat";
import { randomId } from "../socket/ids";
import { placementFromQuery } from "../socket/placement";
import { wantsRecovery } from "../socket/recovery";
import { AlarmSchedule } from "./alarm-schedule";
import { CachedKvStore } from "./cached-kv-store";
import { Connections } from "./connections";
import type { OutgoingFrame } from "./delivery";
import { FloodGuard } from "./flood-guard";
import { KeyedQueue } from "./keyed-queue";
import { log } from "./log";
import { type AuthorityReply, RoomAuthority } from "./room-authority";
import { type RoomObjectRpc, RoomsGateway } from "./rooms-gateway";
import type { Roster } from "./rosters";
import { type Claim, type HandedSession, SessionKeeper } from "./session-keeper";
import { SessionStore } from "./session-store";
import { SqlKvStore } from "./sql-kv-store";

const LAST_PING_KEY = "heartbeat:lastPingAt";
const CLOSE_INTERNAL_ERROR = 1011;
const CLOSE_POLICY_VIOLATION = 1008;
/**
 * Closes that end a recoverable session instead of keeping it: a goodbye
 * (1000), and the server's own closes for floods (1008) and oversized frames
 * (1009), which a reconnect would only repeat.
 */
const ENDS_SESSION = new Set([1000, 1008, 1009]);
/** The RPC methods by which objects hand recoverable sessions to each other. */
interface SessionRpc {
  claimSession(claim: Claim, newHome: string): Promise<HandedSession | null>;
  sessionEnded(pid: string): Promise<void>;
}

/**
 * The one Durable Object class (named `Room` for the binding `ROOMS`; a rename
 * would need a `renamed_classes` migration). Each object has two roles, often
 * both at once:
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
  /** This object's id, which rooms and rosters call the `home` of the sockets it holds. */
  readonly #home = this.ctx.id.toString();
  /** Frames of one socket are handled in order, one at a time; sockets do not wait for each other. */
  readonly #queues = new KeyedQueue();
  /** Rate limits and log quotas per socket. */
  readonly #guard = new FloodGuard(() => {
    const config = this.#config();
    return { rate: config.rateLimitPerSecond, capacity: config.rateLimitBurst };
  });
  /** Connection state, in memory and in each socket's attachment. */
  readonly #connections = new Connections();
  /**
   * Sockets this object closed itself and has already let go of: the
   * runtime still reports their close, which must not be handled (or logged) twice.
   */
  readonly #closedHere = new Set<string>();
  /** Session tokens already verified, per socket: the relay path checks an HMAC once, not per message. */
  readonly #sessions = new VerifiedSessions();
  /** How this object's sockets reach rooms, and relay to each other in one hop. */
  readonly #gateway: RoomsGateway;
  /** The room's state: in memory, written through to SQLite, read from it once per instance. */
  #store: CachedKvStore | undefined;
  /** The object's one alarm: read once per instance, set for the earliest wake any job needs. */
  readonly #alarms = new AlarmSchedule(this.ctx.storage);
  #settings: SocketConfig | undefined;
  /** What the signaling events need, built once per instance (it depends on nothing per socket). */
  #services: SignalingServices | undefined;
  readonly #room: RoomAuthority;
  /** Recoverable sessions: event logs of connected ones, and dropped ones waiting for their clients. */
  readonly #keeper: SessionKeeper;
  #sessionStore: SessionStore | undefined;
  /**
   * Socket ids held under another tag: a recovered session keeps its id, but
   * its new WebSocket was tagged when it was accepted, before the client said
   * which session it was. Rebuilt from the attachments once per instance.
   */
  #adopted: Map<string, string> | undefined;
  /** Tags by WebSocket, and open WebSockets by socket id, as the runtime gave them to this instance. */
  readonly #tags = new WeakMap<WebSocket, string>();
  readonly #sockets = new Map<string, WebSocket>();
  readonly #stubs = new Map<string, DurableObjectStub<Room>>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // Pongs are answered by the runtime itself, without waking the object;
    // the alarm reads when from getWebSocketAutoResponseTimestamp(). The
    // answer is an Engine.IO noop, which clients ignore.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(ENGINE_PONG, ENGINE_NOOP));
    this.#room = new RoomAuthority({
      env,
      self: this.#home,
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
      wakeBy: (at) => this.#alarms.wakeBy(at),
      name: () => this.#label(),
    });
    this.#gateway = new RoomsGateway({
      self: this.#home,
      isSelf: (id) => id.equals(this.ctx.id),
      idFromName: (name) => this.env.ROOMS.idFromName(name),
      stub: (id) => (typeof id === "string" ? this.#stubOf(id) : this.env.ROOMS.get(id)) as unknown as RoomObjectRpc,
      actHere: (ref, actor, action) => this.#room.act(ref, actor, action, Date.now()),
      memberHere: (socketId, ref) => {
        const ws = this.#socketOf(socketId);
        const state = ws ? this.#connections.read(ws, this.#tagOf(ws) ?? "") : null;
        return state?.rooms.includes(ref.room) ?? false;
      },
      relayHere: (ref, to, frame) => this.#relayHere(ref, to, frame),
      name: () => this.#label(),
    });
    const config = this.#config();
    this.#keeper = new SessionKeeper({
      self: this.#home,
      store: () => this.#recoveryStore(),
      window: config.recoveryWindow,
      limits: { maxEvents: config.recoveryMaxEvents, maxBytes: config.recoveryMaxBytes },
      connected: (socketId) => this.#socketOf(socketId) !== undefined,
      supersede: (socketId) => this.#supersede(socketId),
      leave: (state) => this.#leaveRooms(state),
      rehome: (state) => this.#rehome(state),
      // Typed by hand: the stub's inferred RPC types of a session's state are too deep for the compiler.
      // Async, so a pid naming no real object (idFromString throws) fails as a rejection.
      claimAt: async (home, claim, newHome) =>
        (this.#stubOf(home) as unknown as SessionRpc).claimSession(claim, newHome),
      endedAt: async (home, pid) => (this.#stubOf(home) as unknown as SessionRpc).sessionEnded(pid),
      wakeBy: (at) => this.#alarms.wakeBy(at),
    });
    if (env.LOG_WAKES === "true") log("object-start", { object: this.#label() });
  }

  // ---- sockets ---------------------------------------------------------

  /** Accepts a WebSocket upgrade that the worker has already checked and placed here. */
  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const placement = placementFromQuery(url);
    if (!placement.ok) return Response.json(placement.error, { status: 400 });
    const config = this.#config();
    if (this.ctx.getWebSockets().length >= config.maxSocketsPerObject) {
      log("socket-refused", { object: this.#label(), reason: "ERR_TOO_MANY_SOCKETS" });
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
    if (wantsRecovery(url)) state.recovery = true;
    // The tag finds the socket when a room delivers an event to it.
    this.ctx.acceptWebSocket(server, [state.socketId]);
    this.#connections.write(server, state.socketId, state);
    server.send(
      encodeOpenPacket({
        sid: state.engineId,
        upgrades: [],
        pingInterval: config.pingInterval,
        pingTimeout: config.pingTimeout,
        maxPayload: config.maxFrameBytes,
      }),
    );
    log("socket-open", { object: this.#label(), socket: state.socketId, placement: placement.placement.kind });
    // The alarm closes the socket if it has not authenticated by then. The upgrade's
    // answer waits neither for the alarm's read nor for its write to be durable (each
    // cost the upgrade several ms locally: a fresh object's first storage access opens
    // its database); a write that fails resets the object, as any storage failure does.
    this.ctx.waitUntil(
      this.#alarms
        .wakeBy(Math.min(now + config.pingInterval, now + config.authTimeout), true)
        .catch((error) => console.error(`[${this.#label()}] setting the alarm failed:`, error)),
    );
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    this.#countWake("message");
    const tag = this.#tagOf(ws);
    if (!tag) return closeQuietly(ws, CLOSE_INTERNAL_ERROR, "connection state lost");
    if (this.#closedHere.has(tag) || !this.#withinRateLimit(ws, tag, message)) return;
    await this.#serially(tag, () => this.#onMessage(ws, tag, message));
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    const tag = this.#tagOf(ws) ?? "";
    await this.#serially(tag, async () => {
      // A socket this object closed was let go of when it was closed.
      if (this.#closedHere.delete(tag)) return;
      await this.#let(ws, tag, code, reason);
      // 1005, 1006 and 1015 mean no Close frame came: the transport is gone,
      // and answering would fail later inside the runtime, where no catch
      // sees it ("WebSocket peer disconnected"). Otherwise complete the
      // closing handshake (recent runtimes also do it themselves).
      if (code !== 1005 && code !== 1006 && code !== 1015) closeQuietly(ws, code, reason);
    });
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    const tag = this.#tagOf(ws) ?? "";
    // An error on a socket already closed is the teardown of a gone peer, not news.
    if (this.#closedHere.has(tag)) return;
    console.warn(`[${this.#label()}] websocket error:`, error);
    await this.#serially(tag, () => this.#drop(ws, tag, CLOSE_INTERNAL_ERROR, "websocket error"));
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
    this.#alarms.fired();
    const config = this.#config();
    const now = Date.now();
    const nextSweep = await this.#sweep(now, config);
    const nextExpiry = await this.#keeper.sweep(now);
    const room = await this.#room.upkeep(now);

    // `scheduled`: work that arrived while this alarm ran (a socket opened) asked for its own wake.
    const next = [
      nextSweep,
      nextExpiry,
      room.exists ? now + config.pingInterval : null,
      room.nextExpiry,
      this.#alarms.scheduled,
    ].filter((at): at is number => at !== null && at !== undefined);
    if (next.length > 0) {
      await this.#alarms.set(Math.min(...next));
      return;
    }
    // Nothing left: no sockets, no room. Leave nothing behind.
    await this.ctx.storage.deleteAll();
    this.#store = undefined;
    this.#sessionStore = undefined;
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

  /** RPC: several such relays from one object, in order; says which were delivered. */
  async relayBatch(items: Array<{ ref: RoomRef; to: string; frame: string }>): Promise<boolean[]> {
    this.#countWake("rpc");
    const delivered: boolean[] = [];
    for (const { ref, to, frame } of items) delivered.push(await this.#relayHere(ref, to, frame));
    return delivered;
  }

  /** RPC: which of these sockets are held here, or kept for their clients to come back (for a room's audit of its members). */
  async present(ids: string[]): Promise<string[]> {
    this.#countWake("rpc");
    return this.#presentHere(ids);
  }

  /** RPC: a reconnect landed in object `newHome` with the pid of a session born or kept here: hand it over, if it may have it. */
  async claimSession(claim: Claim, newHome: string): Promise<HandedSession | null> {
    this.#countWake("rpc");
    return this.#keeper.handOver(claim, newHome);
  }

  /** RPC: a session born here ended where it lived: stop remembering where that was. */
  async sessionEnded(pid: string): Promise<void> {
    this.#countWake("rpc");
    this.#keeper.forgetMoved(pid);
  }

  // ---- internals -------------------------------------------------------

  async #onMessage(ws: WebSocket, tag: string, message: string | ArrayBuffer): Promise<void> {
    const state = this.#connections.read(ws, tag);
    if (!state) return closeQuietly(ws, CLOSE_INTERNAL_ERROR, "connection state lost");
    try {
      const result = await handleFrame(state, message, this.#context(this.#config(), ws, tag));
      const after = result.update ? this.#update(ws, tag, result.update) : state;
      if (result.resumed && after) {
        // The recovered session's answer and the events it missed carry their offsets already.
        this.#adoptedMap().set(after.socketId, tag);
        for (const frame of result.send) sendQuietly(ws, frame);
      } else {
        for (const frame of result.send) this.#send(ws, after ?? state, frame);
      }
      if (result.refused) this.#logRefusal(tag, state.socketId, result.refused);
      if (result.later) this.ctx.waitUntil(this.#sendLater(ws, tag, result.later));
      if (result.close) await this.#drop(ws, tag, result.close.code, result.close.reason);
    } catch (error) {
      // Only a bug or a misconfiguration gets here; the peer's socket is
      // closed, every other socket of this object carries on.
      console.error(`[${this.#label()}] socket ${state.socketId}:`, error);
      await this.#drop(ws, tag, CLOSE_INTERNAL_ERROR, "internal error");
    }
  }

  /** The answer of a request that came after the socket went on (a relay's ack): sent when it comes. */
  async #sendLater(ws: WebSocket, tag: string, later: Promise<FrameResult>): Promise<void> {
    const result = await later;
    const state = this.#connections.read(ws, tag);
    if (!state || this.#closedHere.has(tag)) return;
    for (const frame of result.send) this.#send(ws, state, frame);
    if (result.refused) this.#logRefusal(tag, state.socketId, result.refused);
  }

  #logRefusal(tag: string, socketId: string, refused: { event?: string; code: string }): void {
    if (this.#guard.mayLog(tag, Date.now())) log("refusal", { object: this.#label(), socket: socketId, ...refused });
  }

  /** Sends a frame to a socket: an event to a recoverable session gets its offset and is logged. */
  #send(ws: WebSocket, state: ConnectionState, frame: string): boolean {
    return sendQuietly(ws, state.recovery ? this.#keeper.frame(state.socketId, frame) : frame);
  }

  /** Changes a connection's state: in memory, in its attachment, and in storage if it is a recoverable session. */
  #update(ws: WebSocket, tag: string, change: (current: ConnectionState) => ConnectionState): ConnectionState | null {
    const before = this.#connections.read(ws, tag);
    const after = this.#connections.update(ws, tag, change);
    if (after?.recovery) this.#keeper.changed(before, after);
    return after;
  }

  /** Rate limits each frame: answers the first refusals, drops the rest, closes a flood. */
  #withinRateLimit(ws: WebSocket, tag: string, message: string | ArrayBuffer): boolean {
    const verdict = this.#guard.admit(tag, message, Date.now());
    if (verdict.kind === "admit") return true;
    if (verdict.kind === "refuse") {
      const state = this.#connections.read(ws, tag);
      if (state) this.#send(ws, state, verdict.answer);
    } else if (verdict.kind === "close") {
      const socket = this.#connections.read(ws, tag)?.socketId ?? tag;
      log("refusal", {
        object: this.#label(),
        socket,
        code: "ERR_RATE_LIMITED",
        action: "closed",
        refused: verdict.refused,
      });
      void this.#serially(tag, () => this.#drop(ws, tag, CLOSE_POLICY_VIOLATION, "rate limit exceeded"));
    }
    return false;
  }

  /**
   * What the connection layer needs for one socket's frame. The signaling
   * services are the same for every frame and built once per instance;
   * only the disconnect hand-off is the socket's own.
   */
  #context(config: SocketConfig, ws: WebSocket, tag: string): ConnectionContext {
    const services = this.#signalingServices(config);
    return {
      maxPayload: config.maxFrameBytes,
      now: Date.now,
      verifyAppToken: services.verifyAppToken,
      handleEvent: (state, event) => routeEvent(state, event, services),
      handleDisconnect: async (state) => {
        await this.#leaveAll(ws, tag);
        if (state.recovery) await this.#keeper.end(state);
      },
      newPid: () => this.#keeper.newPid(),
      resume: async (_state, claim) => {
        const handed = await this.#keeper.resume(claim);
        return handed ? { state: handed.state, missed: handed.missed } : null;
      },
    };
  }

  #signalingServices(config: SocketConfig): SignalingServices {
    if (this.#services) return this.#services;
    const secret = () => readTokenSecret(this.env);
    this.#services = {
      maxPeerinfoBytes: config.maxPeerinfoBytes,
      maxPayloadBytes: config.maxPayloadBytes,
      maxRoomsPerSocket: config.maxRoomsPerSocket,
      home: this.#home,
      rooms: this.#gateway,
      newRoomName: () => crypto.randomUUID(),
      verifyAppToken: (token) => verifyAppToken(secret(), token),
      verifySessionToken: (token, binding) =>
        this.#sessions.check(binding.connection, token, Date.now(), () => verifySessionToken(secret(), token, binding)),
      signSessionToken: (binding) =>
        signSessionToken(secret(), { ...binding, lifetimeSeconds: config.tokenLifetimeSeconds }),
    };
    return this.#services;
  }

  /**
   * The receiving end of a one-hop relay: sent if `to`'s socket is here and
   * a member; kept if `to`'s session is waiting for its client and a member;
   * passed on if the session moved to another object.
   */
  async #relayHere(ref: RoomRef, to: string, frame: string): Promise<boolean> {
    const ws = this.#socketOf(to);
    const tag = ws ? this.#tagOf(ws) : undefined;
    if (ws && tag && !this.#closedHere.has(tag)) {
      const receiver = this.#connections.read(ws, tag);
      if (receiver?.app !== ref.app || !receiver.rooms.includes(ref.room)) return false;
      return this.#send(ws, receiver, frame);
    }
    if (await this.#keeper.keepRelay(ref, to, frame)) return true;
    const movedTo = this.#keeper.movedTo(to);
    return movedTo ? this.#stubOf(movedTo).relay(ref, to, frame) : false;
  }

  /** Another object, by id; its stub is kept (bounded), since every relay to it needs one and making one is not free. */
  #stubOf(id: string): DurableObjectStub<Room> {
    let stub = this.#stubs.get(id);
    if (!stub) {
      if (this.#stubs.size >= 1_000) this.#stubs.clear();
      stub = this.env.ROOMS.get(this.env.ROOMS.idFromString(id));
      this.#stubs.set(id, stub);
    }
    return stub;
  }

  /**
   * Sends a room's frames to sockets held here, recording membership changes.
   * A frame for a session waiting for its client is kept for it; one for a
   * session that moved is passed on. Returns the ids that are gone.
   */
  async #deliverHere(ref: RoomRef, frames: OutgoingFrame[], roster?: Roster): Promise<string[]> {
    if (roster) this.#gateway.learn(ref, roster);
    const room = ref.room;
    const missing: string[] = [];
    const elsewhere = new Map<string, OutgoingFrame[]>();
    for (const item of frames) {
      const ws = this.#socketOf(item.to);
      const tag = ws ? this.#tagOf(ws) : undefined;
      const change = item.membership;
      if (ws && tag && !this.#closedHere.has(tag)) {
        // Only a membership change needs to write the connection's state; a relay just sends.
        const state = change
          ? this.#update(ws, tag, (current) => applyMembership(current, room, change))
          : this.#connections.read(ws, tag);
        if (!state || !this.#send(ws, state, item.frame)) missing.push(item.to);
        continue;
      }
      if (await this.#keeper.keep(item.to, item.frame, room, change)) continue;
      const movedTo = this.#keeper.movedTo(item.to);
      if (movedTo) elsewhere.set(movedTo, [...(elsewhere.get(movedTo) ?? []), item]);
      else missing.push(item.to);
    }
    for (const [home, items] of elsewhere) {
      try {
        missing.push(...(await this.#stubOf(home).deliver(ref, items, roster)));
      } catch (error) {
        console.error(`[${this.#label()}] passing on to ${home} failed:`, error);
      }
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
      const tag = this.#tagOf(ws);
      const state = tag ? this.#connections.read(ws, tag) : null;
      if (!tag || !state) {
        closeQuietly(ws, CLOSE_INTERNAL_ERROR, "connection state lost");
        continue;
      }
      if (this.#closedHere.has(tag)) continue;
      // The runtime answers most pongs itself and says when; the object saw the others.
      const autoPong = this.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? -1;
      const lastPongAt = Math.max(autoPong, state.lastPongAt ?? -1);
      const verdict = judgeSocket(
        {
          openedAt: state.openedAt,
          authenticated: state.authenticated,
          lastPongAt: lastPongAt < 0 ? null : lastPongAt,
        },
        { now, lastPingAt, pingDue, authTimeout: config.authTimeout },
      );
      if (verdict === "close-auth-timeout") {
        await this.#serially(tag, () => this.#drop(ws, tag, CLOSE_AUTH_TIMEOUT, "auth timeout"));
        continue;
      }
      if (verdict === "close-ping-timeout") {
        await this.#serially(tag, () => this.#drop(ws, tag, CLOSE_PING_TIMEOUT, "ping timeout"));
        continue;
      }
      if (verdict === "ping" && !sendQuietly(ws, ENGINE_PING)) continue;
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
  async #leaveAll(ws: WebSocket, tag: string): Promise<void> {
    const state = this.#connections.read(ws, tag);
    if (!state) return;
    await this.#leaveRooms(state);
    try {
      this.#update(ws, tag, (current) => ({ ...current, rooms: [], requested: [] }));
    } catch (error) {
      console.error(`[${this.#label()}] socket ${state.socketId}: clearing its rooms failed:`, error);
    }
  }

  /** A session's peer leaves its rooms and withdraws its requests, as if it disconnected. Never throws. */
  async #leaveRooms(state: ConnectionState): Promise<void> {
    if (!state.app) return;
    const actor: Peer = { id: state.socketId, home: this.#home, peerinfo: state.peerinfo };
    for (const room of new Set([...state.rooms, ...state.requested])) {
      try {
        await this.#gateway.request({ app: state.app, room }, actor, { kind: "drop" });
      } catch (error) {
        // The room's audit lets the peer go later.
        console.error(`[${this.#label()}] leaving a room failed:`, error);
      }
    }
  }

  /** A recovered session's socket lives here now: its rooms send its events here. */
  async #rehome(state: ConnectionState): Promise<void> {
    if (!state.app) return;
    const actor: Peer = { id: state.socketId, home: this.#home, peerinfo: state.peerinfo };
    for (const room of new Set([...state.rooms, ...state.requested])) {
      const reply = await this.#gateway.request({ app: state.app, room }, actor, { kind: "rehome" });
      if (!reply.outcome.ok) console.warn(`[${this.#label()}] rehoming in a room failed: ${reply.outcome.error.code}`);
    }
  }

  /**
   * Closes a socket from the server side and lets it go at once: its rooms
   * hear of its departure now (or its session is kept, if the close is not a
   * goodbye), and the close the runtime reports later is not handled again.
   * Never throws.
   */
  async #drop(ws: WebSocket, tag: string, code: number, reason: string): Promise<void> {
    if (this.#closedHere.has(tag)) return;
    this.#closedHere.add(tag);
    await this.#let(ws, tag, code, reason);
    closeQuietly(ws, code, reason);
  }

  /**
   * Lets a closed socket go: a recoverable session whose socket closed
   * without a goodbye (no DISCONNECT, no close 1000; a flood or an
   * oversized frame ends it too) is kept for its client; any other leaves
   * its rooms now.
   */
  async #let(ws: WebSocket, tag: string, code: number, reason: string): Promise<void> {
    const state = this.#connections.read(ws, tag);
    this.#closed(tag, state, code, reason);
    if (state?.recovery && state.connected && state.pid && !ENDS_SESSION.has(code)) {
      if (await this.#keeper.detach(state, Date.now())) {
        this.#connections.forget(tag);
        return;
      }
    }
    await this.#leaveAll(ws, tag);
    if (state?.recovery) await this.#keeper.end(state);
    this.#connections.forget(tag);
  }

  /** Its client is back on another socket: close this one without letting the session go. */
  #supersede(socketId: string): void {
    const ws = this.#socketOf(socketId);
    const tag = ws ? this.#tagOf(ws) : undefined;
    if (!ws || !tag) return;
    this.#closedHere.add(tag);
    this.#connections.forget(tag);
    this.#adoptedMap().delete(socketId);
    this.#sockets.delete(socketId);
    closeQuietly(ws, 1000, "session resumed on a new connection");
  }

  /** Forgets what memory held for the socket, and logs its close: once per socket. */
  #closed(tag: string, state: ConnectionState | null, code: number, reason: string): void {
    const unlogged = this.#guard.forget(tag);
    const socket = state?.socketId ?? tag;
    this.#sessions.forget(socket);
    this.#adopted?.delete(socket);
    this.#sockets.delete(socket);
    const fields: Record<string, unknown> = { object: this.#label(), socket, code, reason };
    if (state) fields.seconds = Math.round((Date.now() - state.openedAt) / 1000);
    if (unlogged > 0) fields.unloggedRefusals = unlogged;
    log("socket-close", fields);
  }

  /**
   * The settings, read once per instance: `env` does not change while an
   * object lives, and every message needs them (rate limit, frame limit, rules).
   */
  #config(): SocketConfig {
    this.#settings ??= readSocketConfig(this.env);
    return this.#settings;
  }

  /** The socket's tag: the id it was accepted under, which keys its state here. Remembered per WebSocket: asking the runtime is not free. */
  #tagOf(ws: WebSocket): string | undefined {
    let tag = this.#tags.get(ws);
    if (tag === undefined) {
      tag = this.ctx.getTags(ws)[0];
      if (tag !== undefined) this.#tags.set(ws, tag);
    }
    return tag;
  }

  /**
   * The socket holding peer `socketId`, if it is here and open: tagged with
   * that id, or adopted by a recovered session. Remembered while it is open:
   * a relay needs both ends, and asking the runtime each time was 6% of its CPU.
   */
  #socketOf(socketId: string): WebSocket | undefined {
    const known = this.#sockets.get(socketId);
    if (known && known.readyState === WebSocket.READY_STATE_OPEN) return known;
    this.#sockets.delete(socketId);
    const tag = this.#adoptedMap().get(socketId) ?? socketId;
    const ws = this.ctx.getWebSockets(tag)[0];
    if (ws) this.#sockets.set(socketId, ws);
    return ws;
  }

  #adoptedMap(): Map<string, string> {
    if (!this.#adopted) {
      this.#adopted = new Map();
      for (const ws of this.ctx.getWebSockets()) {
        const tag = this.#tagOf(ws);
        const state = tag ? this.#connections.read(ws, tag) : null;
        if (tag && state && state.socketId !== tag) this.#adopted.set(state.socketId, tag);
      }
    }
    return this.#adopted;
  }

  /** Sockets held here, and sessions kept here for their clients to come back. */
  #presentHere(ids: string[]): string[] {
    return ids.filter((id) => this.#socketOf(id) !== undefined || this.#keeper.waiting(id));
  }

  #recoveryStore(): SessionStore {
    this.#sessionStore ??= new SessionStore(this.ctx.storage.sql);
    return this.#sessionStore;
  }

  #kv(): CachedKvStore {
    this.#store ??= new CachedKvStore(new SqlKvStore(this.ctx.storage.sql));
    return this.#store;
  }

  #serially<T>(tag: string, task: () => Promise<T>): Promise<T> {
    return this.#queues.run(tag, task);
  }

  /** Opt-in (`LOG_WAKES=true`): one line per wake, for measuring idle cost. */
  #countWake(kind: "message" | "alarm" | "rpc"): void {
    if (this.env.LOG_WAKES === "true") log("wake", { object: this.#label(), kind });
  }

  /** How logs name this object: its room's name when it has one, else its id. */
  #label(): string {
    return this.ctx.id.name ?? this.#home;
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
