import { encodeEngineMessage } from "../../protocol/engine-io";
import { failure, refusal, success } from "../../protocol/errors";
import { encodeEvent } from "../../protocol/socket-io";
import type { RequestOptions, RoomGateway } from "../../signaling/room-requests";
import { type RoomAction, relayedEvent } from "../../signaling/room-rules";
import type { Peer, RoomRef } from "../../signaling/room-store";
import { roomObjectName } from "../../socket/placement";
import type { AuthorityReply } from "../room/authority-reply";
import type { RoomAuthority } from "../room/room-authority";
import type { Log } from "../runtime/log";
import type { HeldSockets } from "../sockets/held-sockets";
import type { LocalDelivery } from "./local-delivery";
import type { ObjectRpc } from "./object-rpc";
import type { RelayChannels } from "./relay-channels";
import type { Rosters } from "./rosters";

/** What the gateway needs from the object it serves. */
export interface GatewayHost {
  /** This object's id, and the same as a `DurableObjectId`. */
  self: string;
  selfId: DurableObjectId;
  /** The room objects' namespace: a room's object by its name. */
  rooms: { idFromName(name: string): DurableObjectId; get(id: DurableObjectId): Pick<ObjectRpc, "roomAction"> };
  /** The sending ends of relays to other objects. */
  channels: Pick<RelayChannels, "send" | "settled">;
  /** The room this object is the authority for (reached without RPC). */
  room: Pick<RoomAuthority, "act">;
  /** The sockets held here: whether a sender is a member of a room, as this object knows it. */
  held: Pick<HeldSockets, "live">;
  /** The receiving end of a relay, for a receiver held (or kept, or passed on) here. */
  here: Pick<LocalDelivery, "relay">;
  rosters: Rosters;
  log: Log;
}

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

  constructor(private readonly host: GatewayHost) {}

  async request(ref: RoomRef, actor: Peer, action: RoomAction, options: RequestOptions = {}): Promise<AuthorityReply> {
    if (action.kind === "relay") {
      const relayed = await this.#relayDirect(ref, actor, action, options.awaited === true);
      if (relayed) return relayed;
    } else {
      // A peer's relays reach their receivers before anything its next request causes: no
      // candidate arrives after the receiver heard its sender leave. (Their receivers answer
      // for them a little later, or when asked, while the next frame is already being handled.)
      await this.host.channels.settled();
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
    awaited: boolean,
  ): Promise<AuthorityReply | null> {
    if (action.to === actor.id) return null;
    const home = this.host.rosters.homeOf(ref, action.to);
    if (home === undefined || !this.#memberHere(actor.id, ref)) return null;
    const data = relayedEvent(ref.room, actor, action.what, action.body, action.payload);
    const frame = encodeEngineMessage(encodeEvent(action.what, data));
    const relayed: AuthorityReply = { outcome: success({ room: ref.room, to: action.to }), reply: [] };
    if (home === this.host.self) return (await this.host.here.relay(ref, action.to, frame)) ? relayed : null;
    // To another object: answered when it says it delivered (or refused, and the room decides),
    // while this socket goes on. Soon when no client waits on the answer, at once when one does.
    const later = this.host.channels
      .send(home, { ref, to: action.to, frame }, awaited)
      .then(async (delivered) => (delivered ? relayed : this.#askRoom(ref, actor, action)));
    return { ...relayed, later };
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
