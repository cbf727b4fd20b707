import { encodeEngineMessage } from "../../protocol/engine-io";
import { failure, refusal, success } from "../../protocol/errors";
import { encodeEvent } from "../../protocol/socket-io";
import type { RoomGateway } from "../../signaling/room-requests";
import { type RoomAction, relayedEvent } from "../../signaling/room-rules";
import type { Peer, RoomRef } from "../../signaling/room-store";
import { roomObjectName } from "../../socket/placement";
import type { AuthorityReply } from "../room/authority-reply";
import type { RoomAuthority } from "../room/room-authority";
import type { Log } from "../runtime/log";
import type { HeldSockets } from "../sockets/held-sockets";
import type { LocalDelivery } from "./local-delivery";
import type { ObjectRpc, RelayItem } from "./object-rpc";
import type { Rosters } from "./rosters";

/** What the gateway needs from the object it serves. */
export interface GatewayHost {
  /** This object's id, and the same as a `DurableObjectId`. */
  self: string;
  selfId: DurableObjectId;
  /** The room objects' namespace: a room's object by its name. */
  rooms: { idFromName(name: string): DurableObjectId; get(id: DurableObjectId): Pick<ObjectRpc, "roomAction"> };
  /** Other objects, by id string (from a roster). */
  stubs: { get(id: string): Pick<ObjectRpc, "relayBatch"> };
  /** The room this object is the authority for (reached without RPC). */
  room: Pick<RoomAuthority, "act">;
  /** The sockets held here: whether a sender is a member of a room, as this object knows it. */
  held: Pick<HeldSockets, "live">;
  /** The receiving end of a relay, for a receiver held (or kept, or passed on) here. */
  here: Pick<LocalDelivery, "relay">;
  rosters: Rosters;
  log: Log;
}

/** Relays waiting for the RPC to their receiver's object; `sending` while one is on its way or due. */
interface RelayQueue {
  items: Array<RelayItem & { resolve: (delivered: boolean) => void }>;
  sending: boolean;
  /** Sends at once what waits for the end of the turn (set while it waits). */
  hurry: (() => void) | null;
  /** Sendings in a row, up to the last, that each carried one relay with none behind it. */
  lone: number;
}

/**
 * After this many lone sendings in a row (one relay, none queued behind it), a
 * relay to that object leaves at once instead of at the end of the turn.
 */
const LONE_BEFORE_AT_ONCE = 2;

/** Relay queues kept (their object's recent pattern) before the idle ones are let go. */
const MAX_RELAY_QUEUES = 1_000;

/**
 * How an object's sockets reach rooms. A relay between members goes straight
 * to the receiver's object (or socket, when it is held here), using the
 * room's roster; any other request, and a relay the direct path cannot
 * place, goes to the room's object: directly when that is this object (the
 * zero-hop placement), over RPC otherwise.
 *
 * The guarantee of the direct path: the sender's object checks the sender's
 * membership, the receiver's object the receiver's, so a relay is delivered
 * only if both ends were members when their objects handled it.
 */
export class MeshGateway implements RoomGateway {
  /** Room object ids by name: hashing a name is not free, and every request to a room needs it. */
  readonly #roomIds = new Map<string, DurableObjectId>();
  readonly #relayQueues = new Map<string, RelayQueue>();
  /** One-hop relays not yet answered by their receivers' objects. */
  readonly #unsettled = new Set<Promise<boolean>>();

  constructor(private readonly host: GatewayHost) {}

  async request(ref: RoomRef, actor: Peer, action: RoomAction): Promise<AuthorityReply> {
    if (action.kind === "relay") {
      const relayed = await this.#relayDirect(ref, actor, action);
      if (relayed) return relayed;
    } else {
      // A peer's relays reach their receivers before anything its next request causes: no
      // candidate arrives after the receiver heard its sender leave. (They wait for the turn's
      // end to share an RPC, while the next frame is already being handled.)
      await this.#relaysSettled();
    }
    return this.#askRoom(ref, actor, action);
  }

  /** Runs a request in the room's object, learning the room's roster from its answer. */
  async #askRoom(ref: RoomRef, actor: Peer, action: RoomAction): Promise<AuthorityReply> {
    const reply = await this.#askRoomOnce(ref, actor, action);
    if (reply.roster) this.host.rosters.set(ref, reply.roster);
    else if (reply.membership === "left") this.host.rosters.forget(ref);
    return reply;
  }

  async #askRoomOnce(ref: RoomRef, actor: Peer, action: RoomAction): Promise<AuthorityReply> {
    const id = this.#roomIdOf(ref);
    if (id.equals(this.host.selfId)) return await this.host.room.act(ref, actor, action, Date.now());
    try {
      return await this.host.rooms.get(id).roomAction(ref, actor, action);
    } catch (error) {
      console.error(`[${this.host.log.name()}] room unreachable:`, error);
      const error_ = refusal("ERR_ROOM_UNAVAILABLE");
      return { outcome: failure(error_), reply: [["signaling-error", { ...error_, room: ref.room }]] };
    }
  }

  /**
   * The one-hop relay. Null when this path cannot decide (no roster, the
   * sender not a member as far as this object knows): the room decides.
   */
  async #relayDirect(
    ref: RoomRef,
    actor: Peer,
    action: Extract<RoomAction, { kind: "relay" }>,
  ): Promise<AuthorityReply | null> {
    if (action.to === actor.id) return null;
    const home = this.host.rosters.homeOf(ref, action.to);
    if (home === undefined || !this.#memberHere(actor.id, ref)) return null;
    const data = relayedEvent(ref.room, actor, action.what, action.body, action.payload);
    const frame = encodeEngineMessage(encodeEvent(action.what, data));
    const relayed: AuthorityReply = { outcome: success({ room: ref.room, to: action.to }), reply: [] };
    if (home === this.host.self) return (await this.host.here.relay(ref, action.to, frame)) ? relayed : null;
    // To another object: answered when it says it delivered (or refused, and the room decides),
    // while this socket goes on; relays queued meanwhile for that object travel in one RPC.
    const later = this.#relayOut(home, { ref, to: action.to, frame }).then(async (delivered) =>
      delivered ? relayed : this.#askRoom(ref, actor, action),
    );
    return { ...relayed, later };
  }

  /**
   * Queues a relay for object `home`. One RPC at a time per object, carrying
   * everything queued since the last one left. An RPC costs both objects far
   * more than a relay's own work (its call alone was about 25 µs of the
   * sender's CPU in a profile), so relays that arrive together should leave
   * together; but the runtime hands over each frame as an event of its own,
   * so only waiting for the end of the turn gathers them, and with one relay
   * in flight (ICE candidates trickling, a ping-pong) that wait is pure
   * latency. So it adapts, per receiving object:
   * - at first, and while relays come together, the first waits for the end
   *   of the turn (`setTimeout(0)`) and the rest of the turn joins it; what
   *   queues while an RPC is out goes in the next. In the bench's flood (8 in
   *   flight per pair) this carried 4-8 relays per RPC;
   * - after {@link LONE_BEFORE_AT_ONCE} sendings in a row that each carried
   *   a single relay with nothing queued behind it, a relay finding no RPC out
   *   leaves at once; one that finds an RPC out (relays coming together again)
   *   brings back the wait.
   * Sending every relay at once whenever no RPC was out lost under 8 in flight
   * (about 2x the server CPU per relay): it breaks the convoys that batching
   * forms (frames that travel together arrive together and leave together
   * again), and once broken, each relay tends to find the RPC before it
   * already answered, so each pays an RPC of its own. Order is kept, per object.
   */
  #relayOut(home: string, item: RelayItem): Promise<boolean> {
    const delivered = new Promise<boolean>((resolve) => {
      let queue = this.#relayQueues.get(home);
      if (!queue) {
        if (this.#relayQueues.size >= MAX_RELAY_QUEUES) this.#forgetIdleQueues();
        queue = { items: [], sending: false, hurry: null, lone: 0 };
        this.#relayQueues.set(home, queue);
      }
      queue.items.push({ ...item, resolve });
      if (queue.sending) return;
      queue.sending = true;
      const waiting = queue;
      if (queue.lone >= LONE_BEFORE_AT_ONCE) {
        void this.#flushRelays(home, waiting);
        return;
      }
      const flush = () => {
        clearTimeout(timer);
        waiting.hurry = null;
        void this.#flushRelays(home, waiting);
      };
      const timer = setTimeout(flush, 0);
      queue.hurry = flush;
    });
    this.#unsettled.add(delivered);
    void delivered.then(() => this.#unsettled.delete(delivered));
    return delivered;
  }

  /** Settles when every relay queued so far has been answered by its receiver's object (sent at once if waiting). */
  async #relaysSettled(): Promise<void> {
    if (this.#unsettled.size === 0) return;
    for (const queue of this.#relayQueues.values()) queue.hurry?.();
    await Promise.all(this.#unsettled);
  }

  async #flushRelays(home: string, queue: RelayQueue): Promise<void> {
    let rpcs = 0;
    let relays = 0;
    while (queue.items.length > 0) {
      const items = queue.items.splice(0);
      rpcs++;
      relays += items.length;
      let delivered: boolean[];
      try {
        delivered = await this.host.stubs.get(home).relayBatch(items.map(({ ref, to, frame }) => ({ ref, to, frame })));
      } catch (error) {
        console.error(`[${this.host.log.name()}] relay to ${home} failed:`, error);
        delivered = [];
      }
      for (const [i, item] of items.entries()) item.resolve(delivered[i] === true);
    }
    queue.sending = false;
    queue.lone = rpcs === 1 && relays === 1 ? queue.lone + 1 : 0;
  }

  /** Lets go of the queues with nothing waiting (they only remember how their object's relays came). */
  #forgetIdleQueues(): void {
    for (const [home, queue] of this.#relayQueues) if (!queue.sending) this.#relayQueues.delete(home);
  }

  /** Whether the socket of `socketId`, held here, is a member of `ref` as this object knows it. */
  #memberHere(socketId: string, ref: RoomRef): boolean {
    return this.host.held.live(socketId)?.state?.rooms.includes(ref.room) ?? false;
  }

  #roomIdOf(ref: RoomRef): DurableObjectId {
    const name = roomObjectName(ref.app, ref.room);
    let id = this.#roomIds.get(name);
    if (!id) {
      id = this.host.rooms.idFromName(name);
      // Bounded: a socket is in at most MAX_ROOMS_PER_SOCKET rooms, and stale names cost little.
      if (this.#roomIds.size > 1_000) this.#roomIds.clear();
      this.#roomIds.set(name, id);
    }
    return id;
  }
}
