import type { Server, Socket } from "socket.io";
import { TokenError } from "../../src/auth/token-error";
import { signSessionToken, verifyAppToken, verifySessionToken } from "../../src/auth/tokens";
import { VerifiedSessions } from "../../src/auth/verified-sessions";
import type { Outcome } from "../../src/protocol/events";
import { type ConnectionState, newConnection } from "../../src/signaling/connection-state";
import { applyMembership } from "../../src/signaling/membership";
import type { RoomGateway } from "../../src/signaling/room-requests";
import { applyRoomAction, type MembershipChange } from "../../src/signaling/room-rules";
import type { Peer } from "../../src/signaling/room-store";
import { routeEvent, type SignalingServices } from "../../src/signaling/router";
import { placementFromQuery } from "../../src/socket/placement";
import type { RoomState } from "./room-state";
import { NODE_SETTINGS } from "./settings";

/** The one "object" of this server: events for a socket go to it by id, wherever its process (the adapter's work). */
const HOME = "node";

/** What a process tells the others when a socket it does not hold joined or left a room (socket.io's `serverSideEmit`). */
const MEMBERSHIP = "signaling-membership";

/**
 * Hosts the project's signaling rules (src/signaling/) on a stock socket.io 4
 * server, the way someone would without Durable Objects: the same handlers
 * (`routeEvent`), the same room rules over a key-value store (here an
 * in-memory one), events for other peers sent with `io.to(id).emit`.
 *
 * It mirrors src/durable/room-object.ts with the Durable Object gateway replaced by
 * a direct call: one connection's events are handled in order, a session
 * token is verified once per connection, a departing socket leaves its rooms.
 * Rooms live where `rooms` keeps them: this process's memory, or a Redis
 * server shared by several processes (then `io` has the Redis adapter, which
 * carries `io.to(id).emit` to the process holding the socket, and a
 * membership change of a socket held elsewhere is told to the other
 * processes before the event that announces it).
 * Left out, because the bench does not exercise them: the rate limiter, join
 * request timeouts and the room audit (the Durable Object's alarm work).
 *
 * @example
 * const io = new Server(http, { transports: ["websocket"] });
 * hostSignaling(io, { secret, rooms: memoryRooms() });
 */
export function hostSignaling(io: Server, options: { secret: string; rooms: RoomState }): void {
  const { secret } = options;
  const limits = { maxMembers: NODE_SETTINGS.maxRoomMembers, maxPendingRequests: NODE_SETTINGS.maxPendingRequests };
  const states = new Map<string, ConnectionState>();
  const sessions = new VerifiedSessions();

  const update = (socketId: string, change: (current: ConnectionState) => ConnectionState) => {
    const current = states.get(socketId);
    if (current) states.set(socketId, change(current));
  };

  io.on(MEMBERSHIP, (id: string, room: string, change: MembershipChange) =>
    update(id, (current) => applyMembership(current, room, change)),
  );

  const rooms: RoomGateway = {
    request: async (ref, actor, action) => {
      const now = Date.now();
      const result = await options.rooms.run(ref, action.kind !== "relay", (kv) =>
        applyRoomAction({ kv, ref, now, limits }, actor, action),
      );
      for (const delivery of result.deliveries) {
        const change = delivery.membership;
        if (change && states.has(delivery.to.id)) {
          update(delivery.to.id, (current) => applyMembership(current, ref.room, change));
        } else if (change && options.rooms.shared) {
          io.serverSideEmit(MEMBERSHIP, delivery.to.id, ref.room, change);
        }
        io.to(delivery.to.id).emit(delivery.event, delivery.data);
      }
      return result.membership
        ? { outcome: result.outcome, reply: result.reply, membership: result.membership }
        : { outcome: result.outcome, reply: result.reply };
    },
  };

  const services: SignalingServices = {
    maxPeerinfoBytes: NODE_SETTINGS.maxPeerinfoBytes,
    maxPayloadBytes: NODE_SETTINGS.maxPayloadBytes,
    maxRoomsPerSocket: NODE_SETTINGS.maxRoomsPerSocket,
    home: HOME,
    rooms,
    newRoomName: () => crypto.randomUUID(),
    verifyAppToken: (token) => verifyAppToken(secret, token),
    verifySessionToken: (token, binding) =>
      sessions.check(binding.connection, token, Date.now(), () => verifySessionToken(secret, token, binding)),
    signSessionToken: (binding) =>
      signSessionToken(secret, { ...binding, lifetimeSeconds: NODE_SETTINGS.tokenLifetimeSeconds }),
  };

  // The handshake: the query may place the socket in a room (it fixes the app), the CONNECT's auth may carry an app token.
  io.use(async (socket, next) => {
    const placement = placementFromQuery(new URL(socket.request.url ?? "/", "http://node-server"));
    if (!placement.ok) return next(new Error(placement.error.message));
    let app = placement.placement.kind === "room" ? placement.placement.app : null;
    const token = (socket.handshake.auth as { token?: unknown }).token;
    if (token !== undefined) {
      try {
        const verified = (await verifyAppToken(secret, token)).app;
        if (app !== null && app !== verified) throw new TokenError("ERR_TOKEN_WRONG_APP", "wrong app");
        app = verified;
      } catch (error) {
        const refused = new Error("Token is not valid") as Error & { data?: unknown };
        refused.data = { code: error instanceof TokenError ? error.code : "ERR_INTERNAL" };
        return next(refused);
      }
    }
    const state = newConnection({ engineId: crypto.randomUUID(), socketId: socket.id, openedAt: Date.now(), app });
    states.set(socket.id, { ...state, connected: true });
    next();
  });

  io.on("connection", (socket) => {
    let queue: Promise<unknown> = Promise.resolve();
    // One connection's events in order, one at a time, as the Durable Object does.
    const serially = (task: () => Promise<void>) => {
      queue = queue.then(task).catch((error) => console.error(`[socket ${socket.id}]`, error));
    };
    socket.onAny((name: string, ...args: unknown[]) => {
      const ack = typeof args.at(-1) === "function" ? (args.pop() as (outcome: Outcome) => void) : undefined;
      serially(() => handleEvent(socket, name, args, ack));
    });
    socket.on("disconnect", () => {
      serially(async () => {
        await leaveAll(socket.id);
        states.delete(socket.id);
        sessions.forget(socket.id);
      });
    });
  });

  async function handleEvent(socket: Socket, name: string, args: unknown[], ack?: (outcome: Outcome) => void) {
    const state = states.get(socket.id);
    if (!state) return;
    const result = await routeEvent(state, { name, args }, services);
    if (result.update) update(socket.id, result.update);
    for (const [event, data] of result.emit) socket.emit(event, data);
    ack?.(result.outcome);
  }

  async function leaveAll(socketId: string) {
    const state = states.get(socketId);
    if (!state?.app) return;
    const actor: Peer = { id: socketId, home: HOME, peerinfo: state.peerinfo };
    for (const room of new Set([...state.rooms, ...state.requested])) {
      await rooms.request({ app: state.app, room }, actor, { kind: "drop" });
    }
  }
}
