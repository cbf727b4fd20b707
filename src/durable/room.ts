import { DurableObject } from "cloudflare:workers";
import { signSessionToken, verifyAppToken } from "../auth/tokens";
import { readSocketConfig, readTokenSecret, type SocketConfig } from "../config";
import type { Env } from "../env";
import { ENGINE_NOOP, ENGINE_PING, ENGINE_PONG, encodeOpenPacket } from "../protocol/engine-io";
import { routeEvent } from "../signaling/router";
import { type ConnectionContext, handleFrame } from "../socket/connection";
import { type ConnectionState, newConnection } from "../socket/connection-state";
import { CLOSE_PING_TIMEOUT, missedPong } from "../socket/heartbeat";
import { randomId } from "../socket/ids";
import { placementFromQuery } from "../socket/placement";
import { readConnection, writeConnection } from "./attachment";

const LAST_PING_KEY = "heartbeat:lastPingAt";
const CLOSE_INTERNAL_ERROR = 1011;

/**
 * A Durable Object that terminates Socket.IO connections: the object of one
 * room of one app (sockets that named their room when connecting), or the
 * object of one socket that named none. Entry points only restore the
 * connection from its attachment and hand off to the pure code in socket/ and
 * signaling/; nothing a peer sends may throw out of them.
 */
export class Room extends DurableObject<Env> {
  /** Frames are handled one at a time, so a handler's awaits never interleave with another's state writes. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // Pongs are answered by the runtime itself, without waking the object;
    // the alarm reads when from getWebSocketAutoResponseTimestamp(). The
    // answer is an Engine.IO noop, which clients ignore.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(ENGINE_PONG, ENGINE_NOOP));
  }

  /** Accepts a WebSocket upgrade that the worker has already checked and placed here. */
  override async fetch(request: Request): Promise<Response> {
    const placement = placementFromQuery(new URL(request.url));
    if (!placement.ok) return Response.json(placement.error, { status: 400 });
    const config = readSocketConfig(this.env);

    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    const state = newConnection({
      engineId: randomId(),
      socketId: randomId(),
      openedAt: Date.now(),
      app: placement.placement.app,
    });
    writeConnection(server, state);
    server.send(
      encodeOpenPacket({
        sid: state.engineId,
        upgrades: [],
        pingInterval: config.pingInterval,
        pingTimeout: config.pingTimeout,
        maxPayload: config.maxPayload,
      }),
    );
    await this.#startHeartbeat(config);
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    await this.#serially(() => this.#onMessage(ws, message));
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    await this.#serially(async () => {
      const state = readConnection(ws);
      if (state) await this.#forget(state);
      // Complete the closing handshake. 1005/1006/1015 only describe a close
      // and cannot be sent; answering with them throws.
      closeQuietly(ws, code === 1005 || code === 1006 || code === 1015 ? 1000 : code, reason);
    });
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    await this.#serially(async () => {
      console.warn(`[${this.#name()}] websocket error:`, error);
      const state = readConnection(ws);
      if (state) await this.#forget(state);
      closeQuietly(ws, CLOSE_INTERNAL_ERROR, "websocket error");
    });
  }

  /** Pings every socket, and closes those that missed the previous ping. */
  override async alarm(): Promise<void> {
    await this.#serially(async () => {
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
        const autoPong = this.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? null;
        const lastPongAt = Math.max(autoPong ?? -1, state.lastPongAt ?? -1);
        if (missedPong({ openedAt: state.openedAt, lastPongAt: lastPongAt < 0 ? null : lastPongAt }, lastPingAt)) {
          await this.#drop(ws, state, CLOSE_PING_TIMEOUT, "ping timeout");
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
    });
  }

  async #onMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const state = readConnection(ws);
    if (!state) {
      closeQuietly(ws, CLOSE_INTERNAL_ERROR, "connection state lost");
      return;
    }
    try {
      const result = await handleFrame(state, message, this.#context(readSocketConfig(this.env)));
      if (result.state) writeConnection(ws, result.state);
      for (const frame of result.send) sendQuietly(ws, frame);
      if (result.close) await this.#drop(ws, result.state ?? state, result.close.code, result.close.reason);
    } catch (error) {
      // Only a bug or a misconfiguration gets here; the peer's socket is
      // closed, every other socket of this object carries on.
      console.error(`[${this.#name()}] socket ${state.socketId}:`, error);
      await this.#drop(ws, state, CLOSE_INTERNAL_ERROR, "internal error");
    }
  }

  #context(config: SocketConfig): ConnectionContext {
    const secret = () => readTokenSecret(this.env);
    return {
      maxPayload: config.maxPayload,
      now: () => Date.now(),
      verifyAppToken: (token) => verifyAppToken(secret(), token),
      handleEvent: (state, event) =>
        routeEvent(state, event, {
          maxPeerinfoBytes: config.maxPeerinfoBytes,
          verifyAppToken: (token) => verifyAppToken(secret(), token),
          signSessionToken: (binding) =>
            signSessionToken(secret(), { ...binding, lifetimeSeconds: config.tokenLifetimeSeconds }),
        }),
      handleDisconnect: (state) => this.#forget(state),
    };
  }

  /** Closes a socket from the server side, which fires no webSocketClose, so its departure is handled here. */
  async #drop(ws: WebSocket, state: ConnectionState, code: number, reason: string): Promise<void> {
    await this.#forget(state);
    closeQuietly(ws, code, reason);
  }

  /** A connection is gone: the place where its rooms will be left. */
  async #forget(_state: ConnectionState): Promise<void> {}

  async #startHeartbeat(config: SocketConfig): Promise<void> {
    if ((await this.ctx.storage.getAlarm()) === null) {
      await this.ctx.storage.setAlarm(Date.now() + config.pingInterval);
    }
  }

  #serially<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task);
    // The queue must survive a failed task; the caller still sees the failure.
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #name(): string {
    return this.ctx.id.name ?? this.ctx.id.toString();
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
