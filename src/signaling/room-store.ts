import type { Json } from "../protocol/events";
import type { KvStore } from "./kv-store";

/** A room of an app: the unit of tenancy and of Durable Object placement. */
export interface RoomRef {
  app: string;
  room: string;
}

/** A peer as a room knows it: its socket id, the object its socket lives in, and its peerinfo. */
export interface Peer {
  id: string;
  /** Id of the Durable Object that holds the peer's socket, where events for it are sent. */
  home: string;
  peerinfo: Json;
}

export interface Member extends Peer {
  /** Join order: the earliest member inherits the room when its owner leaves. */
  seq: number;
}

export interface Candidate extends Peer {
  payload: Json;
  /** When the request was made (ms). */
  at: number;
}

/**
 * A room's state in a {@link KvStore}: three hashes per room.
 * - `<room>:meta`    owner, seq (join counter)
 * - `<room>:members` socket id -> Member
 * - `<room>:pending` socket id -> Candidate
 * A room exists while it has an owner.
 */
export class RoomStore {
  readonly #meta: string;
  readonly #members: string;
  readonly #pending: string;

  constructor(
    private readonly kv: KvStore,
    ref: RoomRef,
  ) {
    // JSON keeps app and room apart whatever characters the room name holds.
    const prefix = `room:${JSON.stringify([ref.app, ref.room])}`;
    this.#meta = `${prefix}:meta`;
    this.#members = `${prefix}:members`;
    this.#pending = `${prefix}:pending`;
  }

  owner(): string | null {
    return this.kv.hget(this.#meta, "owner");
  }

  /** Claims the room for `owner` if nobody owns it; false if it is taken. */
  claim(owner: string): boolean {
    return this.kv.hsetnx(this.#meta, "owner", owner) === 1;
  }

  setOwner(owner: string): void {
    this.kv.hset(this.#meta, "owner", owner);
  }

  member(id: string): Member | null {
    return parse<Member>(this.kv.hget(this.#members, id));
  }

  /** Every member, earliest first. */
  members(): Member[] {
    return Object.values(this.kv.hgetall(this.#members))
      .map((value) => JSON.parse(value) as Member)
      .sort((a, b) => a.seq - b.seq);
  }

  memberCount(): number {
    return this.kv.hlen(this.#members);
  }

  addMember(peer: Peer): Member {
    const member: Member = { ...peer, seq: this.kv.hincrby(this.#meta, "seq", 1) };
    this.kv.hset(this.#members, peer.id, JSON.stringify(member));
    return member;
  }

  removeMember(id: string): boolean {
    return this.kv.hdel(this.#members, id) === 1;
  }

  candidate(id: string): Candidate | null {
    return parse<Candidate>(this.kv.hget(this.#pending, id));
  }

  /** Every pending request, oldest first. */
  candidates(): Candidate[] {
    return Object.values(this.kv.hgetall(this.#pending))
      .map((value) => JSON.parse(value) as Candidate)
      .sort((a, b) => a.at - b.at);
  }

  candidateCount(): number {
    return this.kv.hlen(this.#pending);
  }

  addCandidate(candidate: Candidate): void {
    this.kv.hset(this.#pending, candidate.id, JSON.stringify(candidate));
  }

  removeCandidate(id: string): boolean {
    return this.kv.hdel(this.#pending, id) === 1;
  }

  /** The peer's socket now lives in object `home` (its session was recovered there); false if the room knows no such peer. */
  rehome(id: string, home: string): boolean {
    const member = this.member(id);
    if (member) {
      this.kv.hset(this.#members, id, JSON.stringify({ ...member, home }));
      return true;
    }
    const candidate = this.candidate(id);
    if (candidate) {
      this.kv.hset(this.#pending, id, JSON.stringify({ ...candidate, home }));
      return true;
    }
    return false;
  }

  /** Deletes the room: its name is free again. */
  delete(): void {
    this.kv.del(this.#meta, this.#members, this.#pending);
  }
}

function parse<T>(value: string | null): T | null {
  return value === null ? null : (JSON.parse(value) as T);
}
