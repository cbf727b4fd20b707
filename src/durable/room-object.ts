import { DurableObject } from "cloudflare:workers";
import { VerifiedSessions } from "../auth/verified-sessions";
import { readSocketConfig, readTokenSecret, type SocketConfig } from "../config";
import type { Env } from "../env";
import { ENGINE_NOOP, ENGINE_PONG } from "../protocol/engine-io";
import type { RoomAction } from "../signaling/room-rules";
import type { Peer, RoomRef } from "../signaling/room-store";
import { CLOSE_INTERNAL_ERROR } from "../socket/connection";
import { LocalDelivery } from "./mesh/local-delivery";
import { ObjectStubs } from "./mesh/object-stubs";
import { type RoomObjectRpc, RoomsGateway } from "./mesh/rooms-gateway";
import type { Roster } from "./mesh/rosters";
import { type Claim, type HandedSession, SessionKeeper } from "./recovery/session-keeper";
import { SessionStore } from "./recovery/session-store";
import { CachedKvStore } from "./room/cached-kv-store";
import type { OutgoingFrame } from "./room/outgoing-frames";
import { type AuthorityReply, RoomAuthority } from "./room/room-authority";
import { SqlKvStore } from "./room/sql-kv-store";
import { AlarmSchedule } from "./runtime/alarm-schedule";
import { KeyedQueue } from "./runtime/keyed-queue";
import { log, logLifecycle } from "./runtime/log";
import { Departures } from "./sockets/departures";
import { FloodGuard } from "./sockets/flood-guard";
import { HeartbeatSweep } from "./sockets/heartbeat-sweep";
import { HeldSockets } from "./sockets/held-sockets";
import { closeQuietly } from "./sockets/quiet-socket";
import { SocketFrames } from "./sockets/socket-frames";
import { acceptSocket } from "./sockets/socket-upgrade";

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
 * - it **is a room** (src/durable/room/room-authority.ts): authoritative, in its
 *   SQLite storage, for the members and waiting requests of the one room
 *   whose name it was created under.
 * A socket's requests for a room hosted elsewhere reach that room over RPC
 * (`roomAction`), and the room's events reach sockets hosted elsewhere over
 * RPC (`deliver`).
 *
 * This class only wires the jobs together; each runtime entry point hands
 * off to one of them, each in its own file:
 * accepting sockets (socket-upgrade.ts), their frames (socket-frames.ts),
 * their departures (departures.ts), the heartbeat (heartbeat-sweep.ts), what
 * other objects send here (local-delivery.ts), the way to rooms and the
 * one-hop relay (rooms-gateway.ts), the room itself (room-authority.ts),
 * recoverable sessions (session-keeper.ts), the alarm (alarm-schedule.ts).
 * Nothing a peer sends may throw out of an entry point.
 */
export class Room extends DurableObject<Env> {
  /** This object's id, which rooms and rosters call the `home` of the sockets it holds. */
  readonly #home = this.ctx.id.toString();
  /** Frames of one socket are handled in order, one at a time; sockets do not wait for each other. */
  readonly #queues = new KeyedQueue();
  readonly #held: HeldSockets;
  readonly #alarms = new AlarmSchedule(this.ctx.storage);
  readonly #stubs = new ObjectStubs(this.env.ROOMS);
  readonly #guard = new FloodGuard(() => {
    const config = this.#config();
    return { rate: config.rateLimitPerSecond, capacity: config.rateLimitBurst };
  });
  /** Session tokens already verified, per socket: the relay path checks an HMAC once, not per message. */
  readonly #sessions = new VerifiedSessions();
  readonly #gateway: RoomsGateway;
  readonly #room: RoomAuthority;
  readonly #keeper: SessionKeeper;
  readonly #departures: Departures;
  readonly #delivery: LocalDelivery;
  readonly #frames: SocketFrames;
  readonly #sweep: HeartbeatSweep;
  /** The room's state: in memory, written through to SQLite, read from it once per instance. */
  #store: CachedKvStore | undefined;
  #sessionStore: SessionStore | undefined;
  #settings: SocketConfig | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // Pongs are answered by the runtime itself, without waking the object;
    // the alarm reads when from getWebSocketAutoResponseTimestamp(). The
    // answer is an Engine.IO noop, which clients ignore.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(ENGINE_PONG, ENGINE_NOOP));
    const config = this.#config();
    const label = () => this.#label();
    this.#held = new HeldSockets(ctx, () => this.#keeper);
    this.#room = new RoomAuthority({
      stub: (home) => this.#stubs.get(home),
      self: this.#home,
      kv: () => this.#kv(),
      limits: () => ({ maxMembers: config.maxRoomMembers, maxPendingRequests: config.maxPendingRequests }),
      joinRequestTimeout: () => config.joinRequestTimeout,
      upkeepInterval: () => config.pingInterval,
      deliverHere: (ref, frames, roster) => this.#delivery.deliver(ref, frames, roster),
      presentHere: (ids) => this.#delivery.present(ids),
      waitUntil: (work) => ctx.waitUntil(work),
      // The room's answers wait for its state to be durable, not for its alarm.
      // A failed alarm write resets the object, as when the write held the answer
      // back; either way the room's next create or join request sets it again.
      wakeBy: (at) => this.#alarms.wakeByInBackground(at),
      name: label,
    });
    this.#gateway = new RoomsGateway({
      self: this.#home,
      isSelf: (id) => id.equals(ctx.id),
      idFromName: (name) => env.ROOMS.idFromName(name),
      stub: (id) => (typeof id === "string" ? this.#stubs.get(id) : env.ROOMS.get(id)) as unknown as RoomObjectRpc,
      actHere: (ref, actor, action) => this.#room.act(ref, actor, action, Date.now()),
      memberHere: (socketId, ref) => this.#held.live(socketId)?.state?.rooms.includes(ref.room) ?? false,
      relayHere: (ref, to, frame) => this.#delivery.relay(ref, to, frame),
      name: label,
    });
    this.#keeper = new SessionKeeper({
      self: this.#home,
      store: () => this.#recoveryStore(),
      window: config.recoveryWindow,
      limits: { maxEvents: config.recoveryMaxEvents, maxBytes: config.recoveryMaxBytes },
      connected: (socketId) => this.#held.byId(socketId) !== undefined,
      supersede: (socketId) => this.#departures.supersede(socketId),
      leave: (state) => this.#departures.leaveRooms(state),
      rehome: (state) => this.#departures.rehome(state),
      // Typed by hand: the stub's inferred RPC types of a session's state are too deep for the compiler.
      // Async, so a pid naming no real object (idFromString throws) fails as a rejection.
      claimAt: async (home, claim, newHome) =>
        (this.#stubs.get(home) as unknown as SessionRpc).claimSession(claim, newHome),
      endedAt: async (home, pid) => (this.#stubs.get(home) as unknown as SessionRpc).sessionEnded(pid),
      wakeBy: (at) => this.#alarms.wakeBy(at),
    });
    const parts = {
      home: this.#home,
      held: this.#held,
      keeper: this.#keeper,
      gateway: this.#gateway,
      guard: this.#guard,
      sessions: this.#sessions,
      label,
    };
    this.#departures = new Departures(parts);
    this.#delivery = new LocalDelivery({
      ...parts,
      learn: (ref, roster) => this.#gateway.learn(ref, roster),
      stub: (home) => this.#stubs.get(home),
    });
    this.#frames = new SocketFrames({
      ...parts,
      departures: this.#departures,
      config: () => this.#config(),
      tokenSecret: () => readTokenSecret(env),
      serially: (tag, task) => this.#queues.run(tag, task),
    });
    this.#sweep = new HeartbeatSweep({
      storage: ctx.storage,
      held: this.#held,
      autoPongAt: (ws) => ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? null,
      drop: (ws, tag, code, reason) => this.#queues.run(tag, () => this.#departures.drop(ws, tag, code, reason)),
    });
    logLifecycle(env.LOG_LIFECYCLE);
    if (env.LOG_WAKES === "true") log("object-start", { object: this.#label() });
  }

  // ---- sockets ---------------------------------------------------------

  /** Accepts a WebSocket upgrade that the worker has already checked and placed here. */
  override async fetch(request: Request): Promise<Response> {
    const host = { ctx: this.ctx, held: this.#held, alarms: this.#alarms, config: this.#config() };
    return acceptSocket(request, { ...host, label: () => this.#label() });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    this.#countWake("message");
    await this.#frames.receive(ws, message);
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    const tag = this.#held.tagOf(ws) ?? "";
    await this.#queues.run(tag, async () => {
      // A socket this object closed was let go of when it was closed.
      if (this.#held.closeReported(tag)) return;
      await this.#departures.let(ws, tag, code, reason);
      // 1005, 1006 and 1015 mean no Close frame came: the transport is gone,
      // and answering would fail later inside the runtime, where no catch
      // sees it ("WebSocket peer disconnected"). Otherwise complete the
      // closing handshake (recent runtimes also do it themselves).
      if (code !== 1005 && code !== 1006 && code !== 1015) closeQuietly(ws, code, reason);
    });
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    const tag = this.#held.tagOf(ws) ?? "";
    // An error on a socket already closed is the teardown of a gone peer, not news.
    if (this.#held.closedHere(tag)) return;
    console.warn(`[${this.#label()}] websocket error:`, error);
    await this.#queues.run(tag, () => this.#departures.drop(ws, tag, CLOSE_INTERNAL_ERROR, "websocket error"));
  }

  /**
   * One alarm for all periodic work: the sockets' heartbeat and auth
   * deadlines, the end of kept sessions' windows, then the room's upkeep
   * (requests that waited too long, members whose sockets vanished). An
   * object with neither sockets nor a room schedules nothing and leaves no
   * storage behind.
   */
  override async alarm(): Promise<void> {
    this.#countWake("alarm");
    this.#alarms.fired();
    const config = this.#config();
    const now = Date.now();
    const nextSweep = await this.#sweep.run(now, config);
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
    return this.#delivery.deliver(ref, frames, roster);
  }

  /**
   * RPC: the one hop of a relay from a socket in another object. Sends
   * `frame` to socket `to` only if, as this object knows it, `to` is a
   * member of the room; false otherwise (the sender then asks the room).
   */
  async relay(ref: RoomRef, to: string, frame: string): Promise<boolean> {
    this.#countWake("rpc");
    return this.#delivery.relay(ref, to, frame);
  }

  /** RPC: several such relays from one object, in order; says which were delivered. */
  async relayBatch(items: Array<{ ref: RoomRef; to: string; frame: string }>): Promise<boolean[]> {
    this.#countWake("rpc");
    const delivered: boolean[] = [];
    for (const { ref, to, frame } of items) {
      try {
        delivered.push(await this.#delivery.relay(ref, to, frame));
      } catch (error) {
        // Only this one is undelivered (its sender then asks the room); the others were sent.
        console.error(`[${this.#label()}] relay to ${to} failed:`, error);
        delivered.push(false);
      }
    }
    return delivered;
  }

  /** RPC: which of these sockets are held here, or kept for their clients to come back (for a room's audit of its members). */
  async present(ids: string[]): Promise<string[]> {
    this.#countWake("rpc");
    return this.#delivery.present(ids);
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

  /**
   * The settings, read once per instance: `env` does not change while an
   * object lives, and every message needs them (rate limit, frame limit, rules).
   */
  #config(): SocketConfig {
    this.#settings ??= readSocketConfig(this.env);
    return this.#settings;
  }

  #recoveryStore(): SessionStore {
    this.#sessionStore ??= new SessionStore(this.ctx.storage.sql);
    return this.#sessionStore;
  }

  #kv(): CachedKvStore {
    this.#store ??= new CachedKvStore(new SqlKvStore(this.ctx.storage.sql));
    return this.#store;
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
