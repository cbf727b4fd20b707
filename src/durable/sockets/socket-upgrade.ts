import type { SocketConfig } from "../../config";
import { encodeOpenPacket } from "../../protocol/engine-io";
import { newConnection } from "../../signaling/connection-state";
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
}

/**
 * Accepts a WebSocket upgrade that the worker has already checked and
 * placed in this object (src/http/socket-route.ts): a new connection, its
 * Engine.IO open packet, and an alarm by its auth deadline. Refused with 503
 * when the object holds its maximum of sockets.
 */
export function acceptSocket(request: Request, host: UpgradeHost): Response {
  const { config, held } = host;
  const url = new URL(request.url);
  const placement = placementFromQuery(url);
  if (!placement.ok) return Response.json(placement.error, { status: 400 });
  if (held.all().length >= config.maxSocketsPerObject) {
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
    app: placement.placement.app,
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
