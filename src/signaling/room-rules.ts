import { failure, refusal, type SignalingErrorCode, success } from "../protocol/errors";
import type { Json, Outcome, ServerEventName } from "../protocol/events";
import type { KvStore } from "./kv-store";
import { type Candidate, type Member, type Peer, type RoomRef, RoomStore } from "./room-store";

/**
 * The rules of a room: who may do what, and what each request causes. Pure
 * and synchronous over a {@link KvStore}: the room's Durable Object runs them
 * on its SQLite storage, the tests on an in-memory Redis shim.
 */

/** What a peer asks of a room. */
export type RoomAction =
  | { kind: "create"; payload: Json }
  | { kind: "join-request"; payload: Json }
  | { kind: "join-answer"; accept: boolean; candidate: string; payload: Json }
  | { kind: "leave"; payload: Json }
  /** The peer's socket is gone: leave, or withdraw a pending request, telling nobody but the room. */
  | { kind: "drop" }
  /**
   * The peer's session was recovered, maybe in another object: events for it
   * go there now. `notices`: candidates whose join requests it was not told
   * of while its connection was down (they stayed in the room): told now,
   * if it still owns the room and they still wait. Tells nobody else.
   */
  | { kind: "rehome"; notices?: string[] }
  | { kind: "relay"; what: RelayKind; to: string; body: Json; payload: Json };

/** How a peer's relation to a room changed; its socket's host keeps the list, to clean up on disconnect. */
export type MembershipChange = "joined" | "left" | "requested" | "request-ended";

/** An event for a peer other than the requester. */
export interface Delivery {
  to: Pick<Peer, "id" | "home">;
  event: ServerEventName;
  data: unknown;
  membership?: MembershipChange;
}

/** Everything a request caused. */
export interface RoomResult {
  /** The requester's acknowledgement. */
  outcome: Outcome;
  /** Events for the requester. */
  reply: Array<[ServerEventName, unknown]>;
  /** How the requester's relation to the room changed. */
  membership?: MembershipChange;
  /** Events for other peers. */
  deliveries: Delivery[];
}

export interface RoomLimits {
  maxMembers: number;
  maxPendingRequests: number;
}

export interface RoomContext {
  kv: KvStore;
  ref: RoomRef;
  limits: RoomLimits;
  now: number;
}

/**
 * Applies one request of `actor` to the room.
 *
 * @example
 * applyRoomAction({ kv, ref: { app: "demo", room: "lobby" }, limits, now }, alice, { kind: "create", payload: null });
 * // { outcome: { ok: true, data: { room: "lobby" } }, reply: [["room-create-accept", { room: "lobby" }]], membership: "joined", deliveries: [] }
 */
export function applyRoomAction(context: RoomContext, actor: Peer, action: RoomAction): RoomResult {
  const room = new RoomStore(context.kv, context.ref);
  const rules = new Rules(room, context, actor);
  switch (action.kind) {
    case "create":
      return rules.create();
    case "join-request":
      return rules.requestJoin(action.payload);
    case "join-answer":
      return rules.answerJoin(action.candidate, action.accept, action.payload);
    case "leave":
      return rules.leave(false);
    case "drop":
      return rules.leave(true);
    case "rehome":
      return rules.rehome(action.notices ?? []);
    case "relay":
      return rules.relay(action.what, action.to, action.body, action.payload);
  }
}

/**
 * Turns away the candidates whose requests waited longer than `timeoutMs`,
 * and says when the next waiting request expires (null: none waits).
 *
 * @example expireRequests(context, 120_000) // { deliveries: [room-join-reject ERR_JOIN_TIMEOUT ...], nextExpiry: 1700000120000 }
 */
export function expireRequests(
  context: RoomContext,
  timeoutMs: number,
): { deliveries: Delivery[]; nextExpiry: number | null } {
  const room = new RoomStore(context.kv, context.ref);
  const deliveries: Delivery[] = [];
  let nextExpiry: number | null = null;
  for (const candidate of room.candidates()) {
    const expiry = candidate.at + timeoutMs;
    if (expiry > context.now) {
      nextExpiry = nextExpiry === null ? expiry : Math.min(nextExpiry, expiry);
      continue;
    }
    room.removeCandidate(candidate.id);
    deliveries.push({
      to: candidate,
      event: "room-join-reject",
      data: { ...refusal("ERR_JOIN_TIMEOUT"), room: context.ref.room, payload: null },
      membership: "request-ended",
    });
  }
  return { deliveries, nextExpiry };
}

/** Everyone the room knows (members and candidates), to check that their sockets still exist. */
export function roomPeers(context: Pick<RoomContext, "kv" | "ref">): Peer[] {
  const room = new RoomStore(context.kv, context.ref);
  return [...room.members(), ...room.candidates()];
}

/**
 * What the receiver of a relay gets: the sender's id and peerinfo with the
 * description or candidate. The one definition for both paths a relay can take.
 *
 * @example relayedEvent("lobby", alice, "ice-candidate", candidate, null)
 * // { room: "lobby", peer_id: "alice", ice_candidate: candidate, peerinfo: alice.peerinfo, payload: null }
 */
export function relayedEvent(
  room: string,
  sender: Pick<Peer, "id" | "peerinfo">,
  what: RelayKind,
  body: Json,
  payload: Json,
): Record<string, unknown> {
  const field = what === "session-description" ? "session_description" : "ice_candidate";
  return { room, peer_id: sender.id, [field]: body, peerinfo: sender.peerinfo, payload };
}

/** What can be relayed: also the name of the event the receiver gets. */
export type RelayKind = "session-description" | "ice-candidate";

class Rules {
  readonly #name: string;

  constructor(
    private readonly room: RoomStore,
    private readonly context: RoomContext,
    private readonly actor: Peer,
  ) {
    this.#name = context.ref.room;
  }

  create(): RoomResult {
    if (!this.room.claim(this.actor.id)) {
      return this.#refuse("room-create-reject", "ERR_ROOM_TAKEN");
    }
    this.room.addMember(this.actor);
    const data = { room: this.#name };
    return { outcome: success(data), reply: [["room-create-accept", data]], membership: "joined", deliveries: [] };
  }

  requestJoin(payload: Json): RoomResult {
    const owner = this.room.owner();
    if (owner === null) return this.#refuse("room-join-reject", "ERR_ROOM_NOT_FOUND");
    if (this.room.member(this.actor.id)) return this.#refuse("room-join-reject", "ERR_ALREADY_MEMBER");
    if (this.room.candidate(this.actor.id)) return this.#refuse("room-join-reject", "ERR_JOIN_PENDING");
    if (this.room.memberCount() >= this.context.limits.maxMembers)
      return this.#refuse("room-join-reject", "ERR_ROOM_FULL");
    if (this.room.candidateCount() >= this.context.limits.maxPendingRequests) {
      return this.#refuse("room-join-reject", "ERR_TOO_MANY_REQUESTS");
    }
    const candidate: Candidate = { ...this.actor, payload, at: this.context.now };
    this.room.addCandidate(candidate);
    const ownerPeer = this.room.member(owner) as Member;
    return {
      outcome: success({ room: this.#name }),
      reply: [],
      membership: "requested",
      deliveries: [{ to: ownerPeer, event: "room-join-request", data: this.#joinRequestNotice(candidate) }],
    };
  }

  answerJoin(candidateId: string, accept: boolean, payload: Json): RoomResult {
    const owner = this.room.owner();
    if (owner === null) return this.#refuse("signaling-error", "ERR_ROOM_NOT_FOUND");
    if (owner !== this.actor.id) return this.#refuse("signaling-error", "ERR_NOT_OWNER");
    const candidate = this.room.candidate(candidateId);
    if (!candidate) return this.#refuse("signaling-error", "ERR_NO_SUCH_REQUEST");
    this.room.removeCandidate(candidateId);
    const data = { room: this.#name, peer_id: candidateId };
    if (!accept) {
      return {
        outcome: success(data),
        reply: [],
        deliveries: [
          {
            to: candidate,
            event: "room-join-reject",
            data: { ...refusal("ERR_JOIN_REJECTED"), room: this.#name, payload },
            membership: "request-ended",
          },
        ],
      };
    }
    if (this.room.memberCount() >= this.context.limits.maxMembers) {
      return {
        ...this.#refuse("signaling-error", "ERR_ROOM_FULL"),
        deliveries: [this.#closedRequest(candidate, "ERR_ROOM_FULL")],
      };
    }
    const earlier = this.room.members();
    this.room.addMember({ id: candidate.id, home: candidate.home, peerinfo: candidate.peerinfo });
    const joined = { room: this.#name, peer_id: candidate.id, peerinfo: candidate.peerinfo };
    const welcome = {
      room: this.#name,
      peer_id: candidate.id,
      peers: earlier.map((member) => member.id),
      peersinfo: Object.fromEntries(earlier.map((member) => [member.id, member.peerinfo])),
      payload,
    };
    return {
      outcome: success(data),
      reply: [["room-user-join", joined]],
      deliveries: [
        { to: candidate, event: "room-join-accept", data: welcome, membership: "joined" },
        ...earlier
          .filter((member) => member.id !== this.actor.id)
          .map((member): Delivery => ({ to: member, event: "room-user-join", data: joined })),
      ],
    };
  }

  /** A member leaves (or a candidate withdraws); `quiet` when its socket is gone and cannot be answered. */
  leave(quiet: boolean): RoomResult {
    const data = { room: this.#name };
    const leaver = this.room.member(this.actor.id);
    if (!leaver) {
      if (this.room.removeCandidate(this.actor.id)) {
        return { outcome: success(data), reply: [], membership: "request-ended", deliveries: [] };
      }
      if (quiet) return { outcome: success(data), reply: [], deliveries: [] };
      return this.#refuse("signaling-error", this.room.owner() === null ? "ERR_ROOM_NOT_FOUND" : "ERR_NOT_MEMBER");
    }
    this.room.removeMember(leaver.id);
    const remaining = this.room.members();
    const result: RoomResult = { outcome: success(data), reply: [], membership: "left", deliveries: [] };

    if (remaining.length === 0) {
      // The last one out deletes the room; nobody is left to answer its requests.
      for (const candidate of this.room.candidates()) {
        result.deliveries.push(this.#closedRequest(candidate, "ERR_ROOM_CLOSED"));
      }
      this.room.delete();
      return result;
    }
    const left = { room: this.#name, peer_id: leaver.id, peerinfo: leaver.peerinfo };
    for (const member of remaining) result.deliveries.push({ to: member, event: "room-user-leave", data: left });

    if (this.room.owner() === leaver.id) {
      const heir = remaining[0] as Member;
      this.room.setOwner(heir.id);
      const change = { room: this.#name, peer_id: heir.id, peerinfo: heir.peerinfo };
      for (const member of remaining) result.deliveries.push({ to: member, event: "room-owner-change", data: change });
      // Requests made to the old owner go to the new one, so none waits forever.
      for (const candidate of this.room.candidates()) {
        result.deliveries.push({ to: heir, event: "room-join-request", data: this.#joinRequestNotice(candidate) });
      }
    }
    return result;
  }

  rehome(notices: string[]): RoomResult {
    const data = { room: this.#name };
    if (!this.room.rehome(this.actor.id, this.actor.home)) return this.#refuse("signaling-error", "ERR_NOT_MEMBER");
    const owner = this.room.owner() === this.actor.id ? (this.room.member(this.actor.id) as Member) : null;
    const deliveries: Delivery[] = [];
    for (const id of owner ? notices : []) {
      const candidate = this.room.candidate(id);
      if (candidate)
        deliveries.push({ to: owner as Member, event: "room-join-request", data: this.#joinRequestNotice(candidate) });
    }
    return { outcome: success(data), reply: [], deliveries };
  }

  relay(what: RelayKind, to: string, body: Json, payload: Json): RoomResult {
    const sender = this.room.member(this.actor.id);
    if (!sender)
      return this.#refuse("signaling-error", this.room.owner() === null ? "ERR_ROOM_NOT_FOUND" : "ERR_NOT_MEMBER");
    if (to === this.actor.id)
      return this.#refuse("signaling-error", "ERR_INVALID_REQUEST", "A peer cannot relay to itself");
    const receiver = this.room.member(to);
    if (!receiver) return this.#refuse("signaling-error", "ERR_PEER_NOT_IN_ROOM");
    return {
      outcome: success({ room: this.#name, to }),
      reply: [],
      deliveries: [{ to: receiver, event: what, data: relayedEvent(this.#name, this.actor, what, body, payload) }],
    };
  }

  #joinRequestNotice(candidate: Candidate) {
    return { room: this.#name, peer_id: candidate.id, peerinfo: candidate.peerinfo, payload: candidate.payload };
  }

  #closedRequest(candidate: Candidate, code: SignalingErrorCode): Delivery {
    return {
      to: candidate,
      event: "room-join-reject",
      data: { ...refusal(code), room: this.#name, payload: null },
      membership: "request-ended",
    };
  }

  /** Refuses the request with `event` (its own refusal event, or signaling-error), changing nothing. */
  #refuse(event: ServerEventName, code: SignalingErrorCode, message?: string): RoomResult {
    const error = refusal(code, message);
    return { outcome: failure(error), reply: [[event, { ...error, room: this.#name }]], deliveries: [] };
  }
}
