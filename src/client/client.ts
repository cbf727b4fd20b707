import type { Json, RoomJoinAccept } from "../protocol/events";
import { Emitter } from "./emitter";
import { SignalingError } from "./errors";
import { type IceServer, IceServerSource } from "./ice-servers";
import { Room, type RoomOptions } from "./room";
import { Signaling, type SignalingOptions } from "./signaling";

export interface ConnectOptions extends Omit<SignalingOptions, "url"> {
  /** ICE servers of the application's own, used besides the server's `GET /ice-servers`. */
  iceServers?: IceServer[];
  /** `false`: do not ask the server for ICE servers. */
  fetchIceServers?: boolean;
}

interface ClientEvents {
  /** The connection to the server: `connected` (and whether the session was recovered), or `lost`. */
  connection: (state: "connected" | "lost", recovered: boolean) => void;
  /** A refusal or failure no call of ours awaits. */
  error: (error: SignalingError) => void;
}

/** Outcomes of a join request that come later than its acknowledgement, as events only. */
const LATER_REFUSALS = new Set(["ERR_JOIN_REJECTED", "ERR_ROOM_CLOSED", "ERR_JOIN_TIMEOUT"]);

/**
 * Connects to the server and authenticates: the entry point of the library.
 *
 * @example
 * const client = await connect("https://signaling.example.org", { token: appToken, peerinfo: { name: "Ann" } });
 * const room = await client.createRoom("lobby", { media });
 */
export async function connect(url: string, options: ConnectOptions): Promise<Client> {
  const signaling = await Signaling.open({ ...options, url });
  return new Client(signaling, url, options);
}

/** A connection to the signaling server, and the rooms this peer is in. */
export class Client extends Emitter<ClientEvents> {
  readonly signaling: Signaling;
  readonly ice: IceServerSource;
  readonly rooms = new Map<string, Room>();
  /** The room named in the handshake query (`room` of connect), if any. */
  readonly #placedIn: string | undefined;
  /** Join requests of ours awaiting the owner's answer, by room. */
  readonly #asking = new Map<
    string,
    { resolve: (accept: RoomJoinAccept) => void; reject: (error: SignalingError) => void }
  >();

  /** @internal use {@link connect}. */
  constructor(signaling: Signaling, url: string, options: ConnectOptions) {
    super();
    this.signaling = signaling;
    this.#placedIn = options.room;
    this.ice = new IceServerSource({
      url,
      token: options.token,
      ...(options.iceServers ? { extra: options.iceServers } : {}),
      ...(options.fetchIceServers === false ? { fetch: false } : {}),
    });
    this.#listen();
  }

  /** This peer's id (its socket id); it changes only if a session is lost for good. */
  get id(): string {
    return this.signaling.id ?? "";
  }

  /**
   * Creates a room and owns it. Without `name`: the room the client was connected for (`room` of
   * {@link connect}), or one the server names.
   * Rejects with `ERR_ROOM_TAKEN`, `ERR_TOO_MANY_ROOMS`, ...
   */
  async createRoom(name: string | undefined = this.#placedIn, options: RoomOptions = {}): Promise<Room> {
    const { room } = await this.signaling.request<{ room: string }>("room-create-request", {
      ...(name !== undefined ? { room: name } : {}),
      ...(options.payload !== undefined ? { payload: options.payload } : {}),
    });
    return this.#add(new Room(this.#host(), room, "owner", options));
  }

  /**
   * Asks to join a room (by default the one the client was connected for) and resolves once its
   * owner accepts; rejects with the server's code
   * (`ERR_ROOM_NOT_FOUND` at once, `ERR_JOIN_REJECTED`, `ERR_JOIN_TIMEOUT` or `ERR_ROOM_CLOSED` later).
   */
  async joinRoom(name: string | undefined = this.#placedIn, options: RoomOptions = {}): Promise<Room> {
    if (name === undefined) throw new SignalingError("ERR_INVALID_REQUEST", "joinRoom needs the room's name");
    // A second call while the first waits (a double click) is refused as the server would refuse it,
    // and leaves the first call's waiter alone: the owner's answer settles that one.
    if (this.#asking.has(name)) {
      throw new SignalingError("ERR_JOIN_PENDING", "A request to join this room is already waiting for its owner");
    }
    const accepted = new Promise<RoomJoinAccept>((resolve, reject) => this.#asking.set(name, { resolve, reject }));
    accepted.catch(() => undefined); // handled below; a refused request may reject before it is awaited
    try {
      await this.signaling.request("room-join-request", {
        room: name,
        ...(options.payload !== undefined ? { payload: options.payload as Json } : {}),
      });
    } catch (error) {
      this.#asking.delete(name);
      throw error;
    }
    const accept = await accepted;
    const room = this.#add(new Room(this.#host(), name, "member", options));
    room.joined(accept);
    return room;
  }

  /** Cancels a join request of ours that waits for the owner (the server withdraws it). */
  async cancelJoin(name: string): Promise<void> {
    const asking = this.#asking.get(name);
    if (!asking) return;
    this.#asking.delete(name);
    asking.reject(new SignalingError("ERR_LEFT", "The join request was withdrawn", { room: name }));
    await this.signaling.request("room-leave-request", { room: name }).catch(() => undefined);
  }

  /**
   * Leaves every room (peers are told at once over their connections), stops every local track and
   * says goodbye to the server, which ends the session. Safe to call from `pagehide`.
   */
  close(): void {
    for (const room of [...this.rooms.values()]) room.close();
    for (const [name, asking] of this.#asking)
      asking.reject(new SignalingError("ERR_LEFT", "The client closed", { room: name }));
    this.#asking.clear();
    this.ice.close();
    this.signaling.close();
  }

  #host() {
    return { signaling: this.signaling, ice: this.ice, forget: (room: Room) => this.rooms.delete(room.name) };
  }

  #add(room: Room): Room {
    this.rooms.set(room.name, room);
    return room;
  }

  #listen(): void {
    const socket = this.signaling.socket;
    const roomOf = (name: string) => this.rooms.get(name);
    socket.on("room-join-request", (data) => roomOf(data.room)?.onJoinRequest(data));
    socket.on("room-join-accept", (data) => {
      const asking = this.#asking.get(data.room);
      if (asking) {
        this.#asking.delete(data.room);
        asking.resolve(data);
      } else roomOf(data.room)?.joined(data); // back in after a lost session
    });
    socket.on("room-join-reject", (data) => {
      if (!LATER_REFUSALS.has(data.code)) return; // the others answer our acknowledgement
      const error = SignalingError.from(data);
      const asking = this.#asking.get(data.room);
      if (asking) {
        this.#asking.delete(data.room);
        asking.reject(error);
      } else roomOf(data.room)?.onLaterRefusal(error);
    });
    socket.on("room-user-join", (data) => roomOf(data.room)?.onUserJoin(data));
    socket.on("room-user-leave", (data) => roomOf(data.room)?.onUserLeave(data));
    socket.on("room-owner-change", (data) => roomOf(data.room)?.onOwnerChange(data));
    socket.on("session-description", (data) => roomOf(data.room)?.onDescription(data));
    socket.on("ice-candidate", (data) => roomOf(data.room)?.onCandidate(data));

    this.signaling.on("disconnected", () => this.emit("connection", "lost", false));
    this.signaling.on("error", (error) => {
      // A relay to a peer who just left is refused: the room's room-user-leave says it better.
      if (error.code !== "ERR_PEER_NOT_IN_ROOM") this.emit("error", error);
    });
    this.signaling.on("session", ({ id, recovered }) => {
      this.emit("connection", "connected", recovered);
      for (const room of this.rooms.values()) {
        if (recovered) room.onRecovered();
        else void room.onNewSession(id);
      }
      if (!recovered) {
        // Join requests of the old session were withdrawn with it: ask again.
        for (const name of this.#asking.keys()) {
          this.signaling.request("room-join-request", { room: name }).catch((error: SignalingError) => {
            const asking = this.#asking.get(name);
            this.#asking.delete(name);
            asking?.reject(error);
          });
        }
      }
    });
  }
}
