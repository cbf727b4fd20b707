import type {
  IceCandidate,
  Json,
  RoomJoinAccept,
  RoomJoinRequestNotice,
  RoomPeerNotice,
  SessionDescription,
} from "../protocol/events";
import { type ControlNote, mediaStateOf, type RemoteMedia } from "./control-notes";
import { Emitter } from "./emitter";
import { SignalingError } from "./errors";
import type { IceServerSource } from "./ice-servers";
import type { JoinRequest } from "./join-request";
import { asCandidate, asDescription, type Signal } from "./negotiation";
import { Peer, type PeerContext } from "./peer";
import type { RelayFate, Signaling } from "./signaling";

export type Role = "owner" | "member" | "asking" | "left";

export interface RoomOptions {
  /** Local media to send to every peer (camera, microphone); its tracks are stopped on leave. */
  media?: MediaStream | null;
  /** Kinds to receive even when sending none of them (default: both). */
  receive?: { audio?: boolean; video?: boolean };
  /** `false`: signaling only, no RTCPeerConnection (bots, tests, Node). Default: WebRTC when the runtime has it. */
  rtc?: boolean;
  /** Extra RTCConfiguration (`iceTransportPolicy: "relay"`, say); `iceServers` come from the server. */
  configuration?: Omit<RTCConfiguration, "iceServers">;
  /** `payload` of the create or join request. */
  payload?: Json;
  /**
   * How long a peer the server says left is kept while its media still flows, waiting for it to
   * come back under a new id (default 45 s: the server's recovery window is 30 s).
   */
  awayGraceMs?: number;
}

interface RoomEvents {
  /** Someone asks to join (owner only). */
  "join-request": (request: JoinRequest) => void;
  /** A peer is in the room with us: one who was there when we joined, or one who joined later. */
  peer: (peer: Peer) => void;
  /** A peer left, for good (its connection is closed). */
  "peer-left": (peer: Peer) => void;
  /** The owner changed; `mine`: it is us now. */
  owner: (peerId: string, mine: boolean) => void;
  /** Our part in the room changed (owner, member, asking while coming back, left). */
  role: (role: Role) => void;
  /** We are out of the room: `error` says why, `null` when we left. */
  left: (error: SignalingError | null) => void;
  /** Something went wrong that did not end the room (a refused relay, a negotiation error). */
  error: (error: Error) => void;
}

const DEFAULT_AWAY_GRACE_MS = 45_000;

/**
 * How long a join request waits for a `back` note when its peerinfo is that
 * of a peer of the call who is away: the note travels over the media link,
 * the request through the server, and either may come first.
 */
const BACK_NOTE_WAIT_MS = 3_000;

/** What a room needs from its client. */
export interface RoomHost {
  signaling: Signaling;
  ice: IceServerSource;
  forget(room: Room): void;
}

/**
 * A room this client is in: its peers and their connections, join requests (owner), the local
 * media sent to everyone, and leaving. Made by `client.createRoom` / `client.joinRoom`.
 *
 * @example
 * const room = await client.createRoom("lobby", { media: await navigator.mediaDevices.getUserMedia({ video: true, audio: true }) });
 * room.on("join-request", (request) => request.accept());
 * room.on("peer", (peer) => peer.on("track", (_t, stream) => show(peer.id, stream)));
 * await room.leave(); // camera off, connections closed
 */
export class Room extends Emitter<RoomEvents> {
  readonly name: string;
  role: Role;
  /** Peers by id (those away after losing the server included, until they are back or gone). */
  readonly peers = new Map<string, Peer>();
  /** The local stream whose tracks every peer gets. */
  readonly media: MediaStream | null;

  readonly #host: RoomHost;
  readonly #options: RoomOptions;
  readonly #rtc: boolean;
  readonly #tracks: Array<{ track: MediaStreamTrack; stream: MediaStream }> = [];
  /** New peer ids announced by their `back` note, with the peer they are. */
  readonly #returning = new Map<string, Peer>();
  /** Join requests waiting for their `back` note (see {@link BACK_NOTE_WAIT_MS}). */
  readonly #waitingForNote = new Map<string, { notice: RoomJoinRequestNotice; timer: ReturnType<typeof setTimeout> }>();
  /** Peers away after losing the server: the end of their grace, and the listener for their media's end. */
  readonly #awayTimers = new Map<Peer, { grace: ReturnType<typeof setTimeout>; off: () => void }>();
  /** Peers that said bye: their leave is news at once. */
  readonly #saidBye = new WeakSet<Peer>();
  readonly #context: PeerContext;
  #unwatchIce: (() => void) | null = null;
  /** What we were before losing our session, to come back as. */
  #was: "owner" | "member";

  /** @internal made by the client. */
  constructor(host: RoomHost, name: string, role: "owner" | "member", options: RoomOptions) {
    super();
    this.#host = host;
    this.name = name;
    this.role = role;
    this.#was = role;
    this.#options = options;
    this.#rtc = options.rtc ?? typeof RTCPeerConnection !== "undefined";
    this.media = options.media ?? null;
    for (const track of this.media?.getTracks() ?? []) this.#tracks.push({ track, stream: this.media as MediaStream });
    this.#context = {
      iceServers: () => host.ice.current() as Promise<RTCIceServer[]>,
      freshIceServers: () => host.ice.refresh() as Promise<RTCIceServer[]>,
      configuration: options.configuration ?? {},
      localTracks: () => [...this.#tracks],
      localMedia: () => this.localMedia,
      receive: { audio: options.receive?.audio ?? true, video: options.receive?.video ?? true },
      send: (peer, signal) => this.#signal(peer, signal),
      onNote: (peer, note) => this.onNote(peer, note),
      onError: (_peer, error) => this.emit("error", error),
    };
    if (this.#rtc) {
      // Credentials refreshed before they expire reach every connection's next ICE gathering.
      this.#unwatchIce = host.ice.watch((servers) => {
        for (const peer of this.peers.values()) peer.updateIceServers(servers as RTCIceServer[]);
      });
    }
  }

  /** What we send, per kind: `live`, `muted` or `none`, as the peers are told. */
  get localMedia(): RemoteMedia {
    return mediaStateOf(this.#tracks.map(({ track }) => track));
  }

  /** Sends a new local track to every peer (renegotiates). */
  addTrack(track: MediaStreamTrack, stream: MediaStream = this.media ?? new MediaStream([track])): void {
    this.#tracks.push({ track, stream });
    for (const peer of this.peers.values()) peer.pc?.addTrack(track, stream);
    this.#announceMedia();
  }

  /** Stops sending a local track to every peer (renegotiates) and stops the track. */
  removeTrack(track: MediaStreamTrack): void {
    const index = this.#tracks.findIndex((entry) => entry.track === track);
    if (index < 0) return;
    this.#tracks.splice(index, 1);
    for (const peer of this.peers.values()) {
      const sender = peer.pc?.getSenders().find((s) => s.track === track);
      if (sender && peer.pc?.signalingState !== "closed") peer.pc?.removeTrack(sender);
    }
    track.stop();
    this.#announceMedia();
  }

  /** Sends `next` in place of `previous` (a camera switch, a screen share); `previous` is stopped. */
  async replaceTrack(previous: MediaStreamTrack, next: MediaStreamTrack): Promise<void> {
    const entry = this.#tracks.find((e) => e.track === previous);
    if (!entry) throw new Error("Not a track of this room");
    entry.track = next;
    await Promise.all(
      [...this.peers.values()].map((peer) =>
        peer.pc
          ?.getSenders()
          .find((s) => s.track === previous)
          ?.replaceTrack(next),
      ),
    );
    previous.stop();
    this.#announceMedia();
  }

  /** Mutes or unmutes every local track of a kind (the track keeps running; peers are told). */
  setEnabled(kind: "audio" | "video", enabled: boolean): void {
    for (const { track } of this.#tracks) if (track.kind === kind) track.enabled = enabled;
    this.#announceMedia();
  }

  /**
   * Leaves the room: says bye to every peer, tells the server, closes every connection and stops
   * every local track. Resolves once the server has answered (or could not be reached).
   */
  async leave(): Promise<void> {
    if (this.role === "left") return;
    for (const peer of this.peers.values()) peer.note({ type: "bye" });
    const request = this.#host.signaling.request("room-leave-request", { room: this.name }).catch(() => undefined);
    this.#end(null);
    await request;
  }

  /** @internal the client is closing without a leave request (its DISCONNECT leaves the rooms). */
  close(): void {
    for (const peer of this.peers.values()) peer.note({ type: "bye" });
    this.#end(null);
  }

  // ---- what the server says (routed here by the client) ------------------------------

  /** @internal the join was accepted: call everyone there (the newcomer offers). */
  joined(accept: RoomJoinAccept): void {
    this.#setRole("member");
    const listed = new Set(accept.peers);
    // Coming back under a new id: peers we still have media with are kept; the rest left meanwhile.
    for (const peer of [...this.peers.values()]) if (!listed.has(peer.id)) this.#drop(peer);
    for (const id of accept.peers) {
      const kept = this.peers.get(id);
      if (kept && !kept.closed) {
        kept.info = accept.peersinfo[id] ?? null;
        this.#clearAway(kept);
        kept.setAway(false);
        continue;
      }
      this.#addPeer(id, accept.peersinfo[id] ?? null, false);
    }
  }

  /** @internal */
  onJoinRequest(notice: RoomJoinRequestNotice): void {
    const { peer_id, peerinfo } = notice;
    if (!this.#isReturning(peer_id, peerinfo) && this.#anAwayPeerIs(peerinfo)) {
      // Maybe that peer, back under a new id, whose `back` note is still on its way.
      const waiting = this.#waitingForNote.get(peer_id);
      if (waiting) clearTimeout(waiting.timer);
      const timer = setTimeout(() => this.#askAboutJoin(notice), BACK_NOTE_WAIT_MS);
      this.#waitingForNote.set(peer_id, { notice, timer });
      return;
    }
    this.#askAboutJoin(notice);
  }

  /** Whether a peer of the call who is away has this peerinfo. */
  #anAwayPeerIs(info: Json): boolean {
    const wanted = JSON.stringify(info);
    for (const peer of this.peers.values())
      if (peer.away && !peer.closed && JSON.stringify(peer.info) === wanted) return true;
    return false;
  }

  /** Hands a join request to the app, returning or not. */
  #askAboutJoin(notice: RoomJoinRequestNotice): void {
    const waiting = this.#waitingForNote.get(notice.peer_id);
    if (waiting) clearTimeout(waiting.timer);
    this.#waitingForNote.delete(notice.peer_id);
    if (this.role === "left") return;
    const answer = (event: "room-join-accept" | "room-join-reject") => async (payload?: Json) => {
      await this.#host.signaling.request(event, {
        room: this.name,
        peer_id: notice.peer_id,
        to: notice.peer_id,
        ...(payload !== undefined ? { payload } : {}),
      });
    };
    this.emit("join-request", {
      peerId: notice.peer_id,
      info: notice.peerinfo,
      payload: notice.payload,
      returning: this.#isReturning(notice.peer_id, notice.peerinfo),
      accept: answer("room-join-accept"),
      reject: answer("room-join-reject"),
    });
  }

  /** @internal a peer joined: prepare its connection and wait for its offer. */
  onUserJoin({ peer_id, peerinfo }: RoomPeerNotice): void {
    const returning = this.#isReturning(peer_id, peerinfo) ? this.#returning.get(peer_id) : undefined;
    this.#returning.delete(peer_id);
    if (returning && !returning.closed) {
      // The same person and the same connection, under its new id: nothing to set up again.
      this.peers.delete(returning.id);
      this.#clearAway(returning);
      returning.info = peerinfo;
      returning.rename(peer_id);
      this.peers.set(peer_id, returning);
      return;
    }
    const existing = this.peers.get(peer_id);
    if (existing) this.#drop(existing);
    this.#addPeer(peer_id, peerinfo, true);
  }

  /** @internal */
  onUserLeave({ peer_id }: RoomPeerNotice): void {
    const peer = this.peers.get(peer_id);
    if (!peer) return;
    if (this.#saidBye.has(peer) || !peer.live) {
      this.#drop(peer);
      return;
    }
    // Media still flows: the peer lost its server connection, and may come back under a new id.
    peer.setAway(true);
    this.#clearAway(peer);
    const grace = setTimeout(() => this.#drop(peer), this.#options.awayGraceMs ?? DEFAULT_AWAY_GRACE_MS);
    // Its media ending before it is back ends it too.
    const off = peer.on("connection", (state) => {
      if (peer.away && (state === "failed" || state === "closed")) this.#drop(peer);
    });
    this.#awayTimers.set(peer, { grace, off });
  }

  /** @internal */
  onOwnerChange({ peer_id }: RoomPeerNotice): void {
    const mine = peer_id === this.#host.signaling.id;
    if (mine) this.#setRole("owner");
    this.emit("owner", peer_id, mine);
  }

  /** @internal a description relayed from a peer; anything else than an offer or an answer is dropped. */
  onDescription({ peer_id, peerinfo, session_description }: SessionDescription): void {
    const description = asDescription(session_description);
    if (description) this.#peerFor(peer_id, peerinfo).receive({ description });
    else
      this.emit(
        "error",
        new SignalingError("ERR_INVALID_REQUEST", `A session description from ${peer_id} that is not one`),
      );
  }

  /** @internal a candidate relayed from a peer; anything else is dropped. */
  onCandidate({ peer_id, peerinfo, ice_candidate }: IceCandidate): void {
    const candidate = asCandidate(ice_candidate);
    if (candidate) this.#peerFor(peer_id, peerinfo).receive({ candidate });
    else
      this.emit("error", new SignalingError("ERR_INVALID_REQUEST", `An ICE candidate from ${peer_id} that is not one`));
  }

  /** @internal our session was recovered: resend what may have been lost. */
  onRecovered(): void {
    for (const peer of this.peers.values()) peer.resume();
  }

  /**
   * @internal our session is lost (a new id): tell our peers who we are now over the media links,
   * and come back as we were: the owner takes the room again or asks whoever holds it, a member
   * asks (or takes the room if it is gone).
   */
  async onNewSession(id: string): Promise<void> {
    if (this.role === "left") return;
    for (const peer of this.peers.values()) peer.note({ type: "back", peer_id: id });
    this.#setRole("asking");
    const order: Array<"create" | "join"> =
      this.#was === "owner" ? ["create", "join", "create"] : ["join", "create", "join"];
    let failure: SignalingError | null = null;
    for (const how of order) {
      if ((this.role as Role) === "left") return; // left while we asked
      try {
        if (how === "create") {
          await this.#host.signaling.request("room-create-request", { room: this.name });
          this.#setRole("owner");
          // Alone in the room now: peers still listed are away until they come back.
          for (const peer of this.peers.values())
            if (!peer.away) this.onUserLeave({ room: this.name, peer_id: peer.id, peerinfo: peer.info });
        } else {
          await this.#host.signaling.request("room-join-request", { room: this.name });
          // The owner answers with room-join-accept (see joined) or a later refusal.
        }
        return;
      } catch (error) {
        failure = error instanceof SignalingError ? error : new SignalingError("ERR_NO_ANSWER", String(error));
        const next = how === "create" ? "ERR_ROOM_TAKEN" : "ERR_ROOM_NOT_FOUND";
        if (failure.code === "ERR_DISCONNECTED") return; // the next session tries again
        if (failure.code !== next) break;
      }
    }
    if (failure) this.#end(failure);
  }

  /** @internal a join request of ours was refused later (the owner said no, the room closed...). */
  onLaterRefusal(error: SignalingError): void {
    if (this.role !== "asking") return;
    if (error.code === "ERR_ROOM_CLOSED") {
      void this.onNewSession(this.#host.signaling.id ?? "");
      return;
    }
    this.#end(error);
  }

  // ---- inside ---------------------------------------------------------------

  #addPeer(id: string, info: Json, polite: boolean): Peer {
    const peer = new Peer(this.#context, id, info, { polite, rtc: this.#rtc });
    this.peers.set(id, peer);
    this.emit("peer", peer);
    return peer;
  }

  /** A signal from a peer the room has not told us of (ordering makes it rare): it is a member. */
  #peerFor(id: string, info: Json): Peer {
    return this.peers.get(id) ?? this.#addPeer(id, info, true);
  }

  #signal(peer: Peer, signal: Signal): RelayFate {
    if (this.role === "left" || peer.closed) return "dropped";
    const base = { room: this.name, to: peer.id, peer_id: peer.id };
    if ("description" in signal) {
      return this.#host.signaling.relay("relay-session-description", {
        ...base,
        session_description: signal.description,
      });
    }
    return this.#host.signaling.relay("relay-ice-candidate", { ...base, ice_candidate: signal.candidate });
  }

  /**
   * Whether `id` is a peer of this call back under a new id: it said so over its connection with
   * us, and its peerinfo is the same (a member cannot vouch for someone else's join request).
   */
  #isReturning(id: string, info: Json): boolean {
    const peer = this.#returning.get(id);
    return Boolean(peer && !peer.closed && JSON.stringify(peer.info) === JSON.stringify(info));
  }

  /** @internal a note from a peer's control channel. */
  onNote(peer: Peer, note: ControlNote): void {
    if (note.type === "bye") {
      this.#saidBye.add(peer);
      // Its room-user-leave follows; closing now spares the others a frozen picture.
      if (peer.away) this.#drop(peer);
      else peer.close();
    } else if (note.type === "back") {
      this.#returning.set(note.peer_id, peer);
      const waiting = this.#waitingForNote.get(note.peer_id);
      if (waiting) this.#askAboutJoin(waiting.notice);
    }
  }

  #drop(peer: Peer): void {
    this.#clearAway(peer);
    if (this.peers.get(peer.id) === peer) this.peers.delete(peer.id);
    peer.close();
    this.emit("peer-left", peer);
  }

  #clearAway(peer: Peer): void {
    const away = this.#awayTimers.get(peer);
    if (away) {
      clearTimeout(away.grace);
      away.off();
    }
    this.#awayTimers.delete(peer);
  }

  #announceMedia(): void {
    for (const peer of this.peers.values()) peer.note({ type: "media", ...this.localMedia });
  }

  #setRole(role: Role): void {
    if (role === "owner" || role === "member") this.#was = role;
    if (this.role === role) return;
    this.role = role;
    this.emit("role", role);
  }

  #end(error: SignalingError | null): void {
    if (this.role === "left") return;
    this.#setRole("left");
    this.#unwatchIce?.();
    for (const peer of [...this.peers.values()]) {
      this.#clearAway(peer);
      peer.close();
    }
    this.peers.clear();
    this.#returning.clear();
    for (const { timer } of this.#waitingForNote.values()) clearTimeout(timer);
    this.#waitingForNote.clear();
    // Every local track, including those added after the room was made: nothing stays live.
    for (const { track } of this.#tracks.splice(0)) track.stop();
    for (const track of this.media?.getTracks() ?? []) track.stop();
    this.#host.forget(this);
    this.emit("left", error);
  }
}
