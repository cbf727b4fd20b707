import { DurableObject } from "cloudflare:workers";
import { readSocketConfig } from "../config";
import type { Env } from "../env";
import { ENGINE_NOOP, ENGINE_PONG } from "../protocol/engine-io";
import type { RoomAction } from "../signaling/room-rules";
import type { Peer, RoomRef } from "../signaling/room-store";
import { CLOSE_INTERNAL_ERROR } from "../socket/connection";
import { RELAY_CHANNEL_PATH } from "./mesh/channel-socket";
import type { ObjectRpc, RelayItem } from "./mesh/object-rpc";
import type { Roster } from "./mesh/rosters";
import { buildObjectJobs, type ObjectJobs } from "./object-jobs";
import { type Claim, type HandedSessionWire, toWire } from "./recovery/claims";
import type { AuthorityReply } from "./room/authority-reply";
import type { OutgoingFrame } from "./room/outgoing-frames";
import { Log } from "./runtime/log";
import { closeQuietly } from "./sockets/quiet-socket";
import { acceptSocket } from "./sockets/socket-upgrade";

/**
 * The one Durable Object class (named `Room` for the binding `ROOMS`; a rename
 * would need a `renamed_classes` migration). Each object has two roles, often
 * both at once: it **hosts sockets** (those that named this room when
 * connecting, or the one socket that named no room and got this object to
 * itself), and it **is a room** (room/): authoritative, in its SQLite storage,
 * for the members and waiting requests of the room it was created for.
 *
 * This class hands each runtime entry point and RPC to one of its jobs
 * (built in src/durable/object-jobs.ts, bottom up), and does what a lower
 * job returned for a higher one: a kept session that ended leaves its rooms,
 * a superseded socket is closed. Nothing a peer sends may throw out of an
 * entry point.
 */
export class Room extends DurableObject<Env> implements ObjectRpc {
  readonly #config = readSocketConfig(this.env);
  readonly #log = new Log(this.env.LOG_LIFECYCLE, () => this.ctx.id.name ?? this.ctx.id.toString());
  readonly #jobs: ObjectJobs;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // Pongs are answered by the runtime itself, without waking the object;
    // the alarm reads when from getWebSocketAutoResponseTimestamp(). The
    // answer is an Engine.IO noop, which clients ignore.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(ENGINE_PONG, ENGINE_NOOP));
    this.#jobs = buildObjectJobs(ctx, env, this.#config, this.#log);
    if (env.LOG_WAKES === "true") this.#log.line("object-start", { object: this.#log.name() });
  }

  // ---- sockets ---------------------------------------------------------

  /**
   * Accepts a WebSocket upgrade that the worker has already checked and
   * placed here, or a relay channel another object opens (never a client:
   * the worker forwards only `/socket.io/`).
   */
  override async fetch(request: Request): Promise<Response> {
    if (new URL(request.url).pathname === RELAY_CHANNEL_PATH) return this.#acceptRelayChannel();
    const { held, alarms, queues, departures } = this.#jobs;
    const drop = (ws: WebSocket, tag: string, code: number, reason: string) =>
      queues.run(tag, () => departures.drop(ws, tag, code, reason));
    return acceptSocket(request, { ctx: this.ctx, held, alarms, config: this.#config, log: this.#log, drop });
  }

  /**
   * Accepted by the object, not by the runtime's hibernation API: it is no
   * client socket (not in `getWebSockets()`, no heartbeat), and it lives only
   * while relays flow (its sender closes it when idle).
   */
  #acceptRelayChannel(): Response {
    const { 0: end, 1: here } = new WebSocketPair();
    here.accept();
    this.#jobs.relayReceiver.accept(here);
    return new Response(null, { status: 101, webSocket: end });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    this.#countWake("message");
    await this.#jobs.frames.receive(ws, message);
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    const tag = this.#jobs.held.tagOf(ws) ?? "";
    await this.#jobs.queues.run(tag, async () => {
      // A socket this object closed was let go of when it was closed.
      if (this.#jobs.held.takeClosedHere(tag)) return;
      await this.#jobs.departures.release(ws, tag, code, reason);
      // 1005, 1006 and 1015 mean no Close frame came: the transport is gone,
      // and answering would fail later inside the runtime, where no catch
      // sees it ("WebSocket peer disconnected"). Otherwise complete the
      // closing handshake (recent runtimes also do it themselves).
      if (code !== 1005 && code !== 1006 && code !== 1015) closeQuietly(ws, code, reason);
    });
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    const tag = this.#jobs.held.tagOf(ws) ?? "";
    // An error on a socket already closed is the teardown of a gone peer, not news.
    if (this.#jobs.held.closedHere(tag)) return;
    console.warn(`[${this.#log.name()}] websocket error:`, error);
    await this.#jobs.queues.run(tag, () =>
      this.#jobs.departures.drop(ws, tag, CLOSE_INTERNAL_ERROR, "websocket error"),
    );
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
    this.#jobs.alarms.fired();
    const config = this.#config;
    const now = Date.now();
    const nextSweep = await this.#jobs.sweep.run(now, config);
    const nextExpiry = await this.#jobs.keeper.sweep(now);
    // Sessions that ended while kept leave their rooms, as if they had disconnected.
    for (const state of this.#jobs.keeper.takeEnded()) await this.#jobs.departures.leaveRooms(state);
    const room = await this.#jobs.room.upkeep(now);

    // `scheduled`: work that arrived while this alarm ran (a socket opened) asked for its own wake.
    const next = [
      nextSweep,
      nextExpiry,
      room.exists ? now + config.pingInterval : null,
      room.nextExpiry,
      this.#jobs.alarms.scheduled,
    ].filter((at): at is number => at !== null && at !== undefined);
    if (next.length > 0) {
      await this.#jobs.alarms.set(Math.min(...next));
      return;
    }
    await this.#leaveNothing();
  }

  // ---- RPC between objects (the surface is src/durable/mesh/object-rpc.ts) ----

  async roomAction(ref: RoomRef, actor: Peer, action: RoomAction): Promise<AuthorityReply> {
    this.#countWake("rpc");
    return this.#jobs.room.act(ref, actor, action, Date.now());
  }

  async deliver(ref: RoomRef, frames: OutgoingFrame[], roster?: Roster): Promise<string[]> {
    this.#countWake("rpc");
    return this.#jobs.delivery.deliver(ref, frames, roster);
  }

  async relayBatch(items: RelayItem[]): Promise<boolean[]> {
    this.#countWake("rpc");
    const delivered: boolean[] = [];
    for (const { ref, to, frame } of items) {
      try {
        delivered.push(await this.#jobs.delivery.relay(ref, to, frame));
      } catch (error) {
        // Only this one is undelivered (its sender then asks the room); the others were sent.
        console.error(`[${this.#log.name()}] relay to ${to} failed:`, error);
        delivered.push(false);
      }
    }
    return delivered;
  }

  async present(ids: string[]): Promise<string[]> {
    this.#countWake("rpc");
    return this.#jobs.delivery.present(ids);
  }

  async claimSession(claim: Claim, newHome: string): Promise<HandedSessionWire | null> {
    this.#countWake("rpc");
    const over = await this.#jobs.claims.handOver(claim, newHome);
    // Its client is back elsewhere: the socket it had here is closed, the session goes on there.
    if (over?.superseded) this.#jobs.departures.supersede(over.superseded);
    return over ? toWire(over.handed) : null;
  }

  async sessionEnded(pid: string): Promise<void> {
    this.#countWake("rpc");
    const { keeper, held, room } = this.#jobs;
    keeper.forgetMoved(pid);
    // The object a session was born at may hold nothing else (a seed-style socket's own object).
    if (held.all().length === 0 && room.ref() === null && keeper.isEmpty()) await this.#leaveNothing();
  }

  /** Nothing left here (no socket, no room, no session): no storage and no alarm stay behind. */
  async #leaveNothing(): Promise<void> {
    await this.#jobs.alarms.clear();
    await this.ctx.storage.deleteAll();
    for (const store of this.#jobs.stores) store.reset();
  }

  /** Opt-in (`LOG_WAKES=true`): one line per wake, for measuring idle cost. */
  #countWake(kind: "message" | "alarm" | "rpc"): void {
    if (this.env.LOG_WAKES === "true") this.#log.line("wake", { object: this.#log.name(), kind });
  }
}
