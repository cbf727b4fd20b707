import { verifySessionToken } from "../auth/tokens";
import { VerifiedSessions } from "../auth/verified-sessions";
import { readTokenSecret, type SocketConfig } from "../config";
import type { Env } from "../env";
import { LocalDelivery } from "./mesh/local-delivery";
import { MeshGateway } from "./mesh/mesh-gateway";
import { ObjectStubs } from "./mesh/object-stubs";
import { openRelayChannel } from "./mesh/open-relay-channel";
import { RelayChannels } from "./mesh/relay-channels";
import { RelayReceiver } from "./mesh/relay-receiver";
import { Rosters } from "./mesh/rosters";
import { SessionClaims } from "./recovery/session-claims";
import { SessionKeeper } from "./recovery/session-keeper";
import { SessionLogs } from "./recovery/session-logs";
import { SessionStore } from "./recovery/session-store";
import { CachedKvStore } from "./room/cached-kv-store";
import { RoomAuthority } from "./room/room-authority";
import { SqlKvStore } from "./room/sql-kv-store";
import { AlarmSchedule } from "./runtime/alarm-schedule";
import { KeyedQueue } from "./runtime/keyed-queue";
import { Lazy } from "./runtime/lazy";
import type { Log } from "./runtime/log";
import { Departures } from "./sockets/departures";
import { FloodGuard } from "./sockets/flood-guard";
import { HeartbeatSweep } from "./sockets/heartbeat-sweep";
import { HeldSockets } from "./sockets/held-sockets";
import { LivenessProbe } from "./sockets/liveness-probe";
import { SocketFrames } from "./sockets/socket-frames";

/** The jobs of one object instance, as its entry points use them. */
export interface ObjectJobs {
  /** Frames of one socket are handled in order, one at a time; sockets do not wait for each other. */
  queues: KeyedQueue;
  alarms: AlarmSchedule;
  /** Storage is read when first needed (most wakes touch neither), and afresh once deleted. */
  stores: Array<Lazy<unknown>>;
  held: HeldSockets;
  keeper: SessionKeeper;
  claims: SessionClaims;
  delivery: LocalDelivery;
  /** The receiving end of other objects' one-hop relays. */
  relayReceiver: RelayReceiver;
  room: RoomAuthority;
  departures: Departures;
  frames: SocketFrames;
  sweep: HeartbeatSweep;
}

/**
 * Builds an object's jobs bottom up, each given only the jobs below it (and
 * only the parts it uses), so the wiring has no cycle and no closure points
 * at a job built later:
 *
 *   runtime (alarm, queues, stubs) -> session logs -> held sockets
 *   -> session keeper -> session claims -> local delivery -> room authority -> mesh gateway
 *   -> departures -> socket frames, heartbeat sweep
 *
 * What a lower job cannot do itself it returns to the entry point that
 * called it (src/durable/room-object.ts): a kept session that ended, to
 * leave its rooms; a superseded socket, to be closed.
 */
export function buildObjectJobs(ctx: DurableObjectState, env: Env, config: SocketConfig, log: Log): ObjectJobs {
  const self = ctx.id.toString();
  const autoPongAt = (ws: WebSocket) => ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? null;
  const queues = new KeyedQueue();
  const alarms = new AlarmSchedule(ctx.storage);
  const stubs = new ObjectStubs(env.ROOMS);
  const rosters = new Rosters();
  const sessionStore = new Lazy(() => new SessionStore(ctx.storage.sql));
  const roomStore = new Lazy(() => new CachedKvStore(new SqlKvStore(ctx.storage.sql)));
  const store = () => sessionStore.get();
  const limits = { maxEvents: config.recoveryMaxEvents, maxBytes: config.recoveryMaxBytes };

  const logs = new SessionLogs(store, limits);
  const held = new HeldSockets(ctx, logs);
  const keeper = new SessionKeeper({
    self,
    store,
    logs,
    window: config.recoveryWindow,
    limits,
    objectBounds: { maxSessions: config.recoveryMaxSessions, maxBytes: config.recoveryMaxObjectBytes },
    held,
    stubs,
    alarms,
    log,
  });
  const claims = new SessionClaims({
    self,
    store,
    logs,
    keeper,
    window: config.recoveryWindow,
    limits,
    held,
    probe: new LivenessProbe(held, autoPongAt),
    // Long enough for a client across the world to answer, short enough for one whose network changed to wait.
    probeMs: 2_500,
    verifySession: (token, binding) =>
      verifySessionToken(readTokenSecret(env), token, binding).then(
        () => true,
        () => false,
      ),
    stubs,
    alarms,
    log,
  });
  const delivery = new LocalDelivery({ held, keeper, claims, queues, rosters, stubs, log });
  const room = new RoomAuthority({
    self,
    stubs,
    here: delivery,
    kv: () => roomStore.get(),
    limits: () => ({ maxMembers: config.maxRoomMembers, maxPendingRequests: config.maxPendingRequests }),
    joinRequestTimeout: () => config.joinRequestTimeout,
    upkeepInterval: () => config.pingInterval,
    waitUntil: (work) => ctx.waitUntil(work),
    // The room's answers wait for its state to be durable, not for its alarm.
    // A failed alarm write resets the object, as when the write held the answer
    // back; either way the room's next create or join request sets it again.
    wakeBy: (at) => alarms.wakeByInBackground(at),
    log,
  });
  const channels = new RelayChannels({
    open: (home) => openRelayChannel(stubs.get(home)),
    relayByRpc: async (home, item) => (await stubs.get(home).relayBatch([item]))[0] === true,
    log,
  });
  const relayReceiver = new RelayReceiver({ delivery, log });
  const gateway = new MeshGateway({
    self,
    selfId: ctx.id,
    rooms: env.ROOMS,
    channels,
    room,
    held,
    here: delivery,
    rosters,
    log,
  });
  // Session tokens already verified, per socket: the relay path checks an HMAC once, not per message.
  const sessions = new VerifiedSessions();
  const guard = new FloodGuard(() => ({ rate: config.rateLimitPerSecond, capacity: config.rateLimitBurst }));
  const departures = new Departures({ self, held, keeper, gateway, guard, sessions, log });
  const frames = new SocketFrames({
    self,
    held,
    guard,
    keeper,
    claims,
    departures,
    gateway,
    sessions,
    config: () => config,
    tokenSecret: () => readTokenSecret(env),
    queues,
    log,
  });
  const sweep = new HeartbeatSweep({
    storage: ctx.storage,
    held,
    autoPongAt,
    drop: (ws, tag, code, reason) => queues.run(tag, () => departures.drop(ws, tag, code, reason)),
  });
  return {
    queues,
    alarms,
    stores: [sessionStore, roomStore],
    held,
    keeper,
    claims,
    delivery,
    relayReceiver,
    room,
    departures,
    frames,
    sweep,
  };
}
