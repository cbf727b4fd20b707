import type { SocketConfig } from "../../config";
import { encodeOpenPacket } from "../../protocol/engine-io";
import { type ConnectionState, newConnection } from "../../signaling/connection-state";
import { CLOSE_SLOT_TAKEN } from "../../socket/connection";
import { randomId } from "../../socket/ids";
import { placementFromQuery } from "../../socket/placement";
import { wantsRecovery } from "../../socket/recovery";
import type { AlarmSchedule } from "../runtime/alarm-schedule";
import type { Log } from "../runtime/log";
import type { HeldSockets } from "./held-sockets";

/** What accepting a socket needs from its object. */
export interface UpgradeHost {
  ctx: Pick<DurableObjectState, "acceptWebSocket" | "waitUntil">;
  held: HeldSockets;
  alarms: AlarmSchedule;
  config: SocketConfig;
  log: Log;
  /** Closes a socket from the server side, in its turn with its frames. */
  drop(ws: WebSocket, tag: string, code: number, reason: string): Promise<void>;
}

/** The close reason of a socket whose slot a newcomer took. */
export const SLOT_TAKEN = "the room is full: a socket in no room gives way";

/**
 * Accepts a WebSocket upgrade that the worker has already checked and
 * placed in this object (src/http/socket-route.ts): a new connection, its
 * Engine.IO open packet, and an alarm by its auth deadline.
 *
 * An object holds at most `maxSocketsPerObject` sockets. When it is full,
 * the newcomer takes the slot of the longest-connected socket that is
 * neither a member nor a candidate of the object's room (it is closed 4001): strangers holding only the
 * app token, which every client app ships, must not keep a room's members
 * and candidates from coming back. Only when every socket is a member or
 * candidate is the newcomer refused, with 503.
 */
export function acceptSocket(request: Request, host: UpgradeHost): Response {
  const { config, held } = host;
  const url = new URL(request.url);
  const placement = placementFromQuery(url);
  if (!placement.ok) return Response.json(placement.error, { status: 400 });
  const sockets = held.all();
  // The room this object is for (every socket here was placed by it), or none: a socket's own object.
  const room = placement.placement.kind === "room" ? placement.placement.room : null;
  const giving = sockets.length >= config.maxSocketsPerObject ? longestStranger(held, sockets, room) : null;
  if (giving) {
    host.log.line("socket-evicted", { object: host.log.name(), socket: giving.state.socketId });
    void host.drop(giving.ws, giving.tag, CLOSE_SLOT_TAKEN, SLOT_TAKEN);
  } else if (sockets.length >= config.maxSocketsPerObject) {
    host.log.line("socket-refused", { object: host.log.name(), reason: "ERR_TOO_MANY_SOCKETS" });
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
    // A room placement's app was proven by its token at the worker; an own object's is proven later.
    app: placement.placement.kind === "room" ? placement.placement.app : null,
  });
  if (wantsRecovery(url)) state.recovery = true;
  // The tag finds the socket when a room delivers an event to it.
  host.ctx.acceptWebSocket(server, [state.socketId]);
  held.opened(server, state);
  server.send(
    encodeOpenPacket({
      sid: state.engineId,
      upgrades: [],
      pingInterval: config.pingInterval,
      pingTimeout: config.pingTimeout,
      maxPayload: config.maxFrameBytes,
    }),
  );
  host.log.line("socket-open", {
    object: host.log.name(),
    socket: state.socketId,
    placement: placement.placement.kind,
  });
  // The alarm closes the socket if it has not authenticated by then. It is set
  // after the 101 has left, and nothing is gated on it (a write that fails
  // resets the object, as any storage failure does).
  host.ctx.waitUntil(
    host.alarms
      .wakeByInBackground(Math.min(now + config.pingInterval, now + config.authTimeout))
      .catch((error) => console.error(`[${host.log.name()}] setting the alarm failed:`, error)),
  );
  return new Response(null, { status: 101, webSocket: client });
}

/**
 * The socket that has been here longest among those neither a member nor a
 * candidate of `room` (the object's room; null: of any room), if any. A
 * stranger creating rooms of its own elsewhere stays a stranger here.
 */
function longestStranger(held: HeldSockets, sockets: WebSocket[], room: string | null) {
  let found: { ws: WebSocket; tag: string; state: ConnectionState } | null = null;
  for (const ws of sockets) {
    const tag = held.tagOf(ws);
    const state = tag ? held.state(ws, tag) : null;
    if (!tag || !state || held.closedHere(tag)) continue;
    const belongs =
      room === null
        ? state.rooms.length > 0 || state.requested.length > 0
        : state.rooms.includes(room) || state.requested.includes(room);
    if (belongs) continue;
    if (!found || state.openedAt < found.state.openedAt) found = { ws, tag, state };
  }
  return found;
}
