import type { Json } from "../protocol/events";
import { CONTROL_CHANNEL, type ControlNote, parseNote, type RemoteMedia } from "./control-notes";
import { Emitter } from "./emitter";
import { IceWatchdog } from "./ice-watchdog";
import { type Candidate, type Description, Negotiator, type Signal } from "./negotiation";

interface PeerEvents {
  /** A remote track arrived; `stream` is the peer's stream (`peer.stream`). */
  track: (track: MediaStreamTrack, stream: MediaStream) => void;
  /** A remote track was removed by the peer (renegotiated away). */
  "track-removed": (track: MediaStreamTrack) => void;
  /** The peer opened a data channel. */
  datachannel: (channel: RTCDataChannel) => void;
  /** What the peer says it sends: `live`, `muted` or `none` (no such device), per kind. */
  media: (media: RemoteMedia) => void;
  /** `RTCPeerConnection.connectionState` changed. */
  connection: (state: RTCPeerConnectionState) => void;
  /** The server says the peer left, but media still flows: it lost its server connection. */
  away: () => void;
  /** The peer is back, possibly under a new id (`peer.id`). */
  back: (id: string) => void;
  /** The connection is closed for good. */
  closed: () => void;
}

/** What a peer needs from its room. */
export interface PeerContext {
  iceServers(): Promise<RTCIceServer[]>;
  /** Fetches new TURN credentials (for an ICE restart). */
  freshIceServers(): Promise<RTCIceServer[]>;
  configuration: Omit<RTCConfiguration, "iceServers">;
  /** The local tracks to send, with their streams. */
  localTracks(): Array<{ track: MediaStreamTrack; stream: MediaStream }>;
  localMedia(): RemoteMedia;
  /** Kinds to receive even when we send none of them (offering side only). */
  receive: { audio: boolean; video: boolean };
  /** Relays a signal; says whether it was sent, held through a drop, or dropped. */
  send(peer: Peer, signal: Signal): "sent" | "held" | "dropped";
  onNote(peer: Peer, note: ControlNote): void;
  onError(peer: Peer, error: Error): void;
}

/**
 * One remote peer of a room and the RTCPeerConnection to it: perfect negotiation, the control
 * channel, remote tracks, and ICE restarts when the connection fails or stays disconnected.
 *
 * @example
 * room.on("peer", (peer) => {
 *   peer.on("track", (_track, stream) => (video.srcObject = stream));
 * });
 */
export class Peer extends Emitter<PeerEvents> {
  /** The peer's id: its socket id. It changes when the peer comes back after losing its session. */
  id: string;
  /** The peer's `peerinfo` (from its `auth-request`). */
  info: Json;
  /** The connection; `null` until ICE servers are known, and for signaling-only rooms. */
  pc: RTCPeerConnection | null = null;
  /** The peer's remote stream (its tracks, as they arrive). */
  stream: MediaStream | null = null;
  /** What the peer says it sends; `null` until it says (a client without the control channel never does). */
  media: RemoteMedia | null = null;
  /** The server says the peer left, while its media still flows. */
  away = false;
  closed = false;

  readonly #context: PeerContext;
  readonly #polite: boolean;
  #negotiator: Negotiator | null = null;
  #control: RTCDataChannel | null = null;
  #watchdog: IceWatchdog | null = null;
  readonly #watchedStreams = new WeakSet<MediaStream>();
  /** How our last offer went out: see {@link resume}. */
  #lastOfferFate: "sent" | "held" | "dropped" = "sent";
  /** Incoming signals, handled one after another once the connection exists. */
  #inbox: Promise<void>;
  readonly ready: Promise<void>;

  /**
   * @param polite the side that gives way when both offer at once. By the protocol's convention
   * the newcomer offers first and is the impolite side; the member it calls is polite and waits
   * for that first offer before offering anything itself.
   */
  constructor(context: PeerContext, id: string, info: Json, options: { polite: boolean; rtc: boolean }) {
    super();
    this.#context = context;
    this.id = id;
    this.info = info;
    this.#polite = options.polite;
    // A connection that cannot be made (a malformed ICE server URL, say) is reported, never thrown
    // out of an event handler; the peer then stays without one.
    this.ready = options.rtc
      ? this.#connect().catch((error: Error) => context.onError(this, error))
      : Promise.resolve();
    this.#inbox = this.ready;
  }

  /** Opens a data channel to the peer (the peer gets a `datachannel` event). */
  createDataChannel(label: string, init?: RTCDataChannelInit): RTCDataChannel {
    if (!this.pc) throw new Error("No peer connection (yet): await peer.ready, in a room with WebRTC");
    return this.pc.createDataChannel(label, init);
  }

  /** Restarts ICE with fresh TURN credentials (the library does it by itself when ICE fails). */
  async restartIce(): Promise<void> {
    const pc = this.pc;
    if (!pc || this.closed) return;
    try {
      const iceServers = await this.#context.freshIceServers();
      if (pc.signalingState !== "closed") pc.setConfiguration({ ...pc.getConfiguration(), iceServers });
    } catch (error) {
      // No new credentials: restart with the old ones, which may still work (STUN, a direct path).
      this.#context.onError(this, error as Error);
    }
    if (pc.signalingState !== "closed") pc.restartIce();
  }

  /** ICE restarts since the connection was last connected (0 while it is). */
  get iceRestarts(): number {
    return this.#watchdog?.restarts ?? 0;
  }

  /** A signal from the peer, through the server. */
  receive(signal: { description?: Description; candidate?: Candidate }): void {
    this.#inbox = this.#inbox
      .then(async () => {
        if (!this.#negotiator || this.closed) return;
        if (signal.description) await this.#negotiator.receiveDescription(signal.description);
        else if (signal.candidate) await this.#negotiator.receiveCandidate(signal.candidate);
      })
      // One bad signal must not stop the ones after it.
      .catch((error: Error) => this.#context.onError(this, error));
  }

  /** Sends a note on the control channel (dropped if it is not open). */
  note(note: ControlNote): void {
    if (this.#control?.readyState === "open") this.#control.send(JSON.stringify(note));
  }

  /**
   * Signaling is back after a drop. Signals sent just before it may be lost: an offer still
   * unanswered is sent again (the other side answers an offer it already applied just as well),
   * and ICE that is not connected is restarted.
   */
  resume(): void {
    // An offer held through the drop has just been sent, once; one sent on the dying socket may
    // be lost, and is sent again (an answer to the duplicate, should both arrive, is ignored).
    const pending = this.#negotiator?.pendingOffer();
    if (pending && this.#lastOfferFate === "sent") this.#context.send(this, { description: pending });
    const state = this.pc?.iceConnectionState;
    if (state && !["connected", "completed", "closed"].includes(state)) this.#watchdog?.restartNow();
  }

  /** Whether media flows (so that a peer who lost the server may be kept). */
  get live(): boolean {
    return !this.closed && (this.pc?.connectionState === "connected" || this.#control?.readyState === "open");
  }

  /** @internal marks the peer away (the server says it left while media flows). */
  setAway(away: boolean): void {
    if (this.away === away) return;
    this.away = away;
    if (away) this.emit("away");
    else this.emit("back", this.id);
  }

  /** @internal the peer came back under a new id. */
  rename(id: string): void {
    this.id = id;
    this.away = false;
    this.emit("back", id);
  }

  /** Closes the connection; its remote tracks end. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.#watchdog?.stop();
    this.#control?.close();
    this.pc?.close();
    for (const track of this.stream?.getTracks() ?? []) track.stop();
    this.emit("closed");
  }

  /** @internal applies refreshed ICE servers to future gathering (the next restart). */
  updateIceServers(iceServers: RTCIceServer[]): void {
    const pc = this.pc;
    if (pc && pc.signalingState !== "closed") pc.setConfiguration({ ...pc.getConfiguration(), iceServers });
  }

  async #connect(): Promise<void> {
    let iceServers: RTCIceServer[] = [];
    try {
      iceServers = await this.#context.iceServers();
    } catch (error) {
      this.#context.onError(this, error as Error);
    }
    if (this.closed) return;
    const pc = new RTCPeerConnection({ ...this.#context.configuration, iceServers });
    this.pc = pc;
    this.#negotiator = new Negotiator(pc, {
      polite: this.#polite,
      waitForRemoteOffer: this.#polite,
      send: (signal) => {
        const fate = this.#context.send(this, signal);
        if ("description" in signal && signal.description.type === "offer") this.#lastOfferFate = fate;
      },
      onError: (error) => this.#context.onError(this, error),
    });
    this.#watchdog = new IceWatchdog({ restart: () => void this.restartIce() });

    pc.addEventListener("negotiationneeded", () => void this.#negotiator?.negotiate());
    pc.addEventListener("icecandidate", ({ candidate }) => {
      if (candidate) this.#context.send(this, { candidate: candidate.toJSON() as Candidate });
    });
    pc.addEventListener("iceconnectionstatechange", () => this.#watchdog?.update(pc.iceConnectionState));
    pc.addEventListener("connectionstatechange", () => this.emit("connection", pc.connectionState));
    pc.addEventListener("track", ({ track, streams }) => this.#onTrack(track, streams));
    pc.addEventListener("datachannel", ({ channel }) => this.emit("datachannel", channel));

    // Both sides create the control channel before any offer, with the same id: no handshake.
    const control = pc.createDataChannel(CONTROL_CHANNEL.label, { negotiated: true, id: CONTROL_CHANNEL.id });
    this.#control = control;
    control.addEventListener("open", () => this.note({ type: "media", ...this.#context.localMedia() }));
    control.addEventListener("message", ({ data }) => this.#onNote(data));
    // The other end closed its connection (it left, or its page went away) before saying bye.
    control.addEventListener("close", () => {
      if (!this.closed) this.#context.onNote(this, { type: "bye" });
    });

    const sending = new Set<string>();
    for (const { track, stream } of this.#context.localTracks()) {
      pc.addTrack(track, stream);
      sending.add(track.kind);
    }
    // The offering side asks to receive what it does not send, so that one offer carries both
    // ways; the polite side's own transceivers would need a second negotiation.
    if (!this.#polite) {
      for (const kind of ["audio", "video"] as const) {
        if (this.#context.receive[kind] && !sending.has(kind)) pc.addTransceiver(kind, { direction: "recvonly" });
      }
    }
  }

  #onTrack(track: MediaStreamTrack, streams: readonly MediaStream[]): void {
    // One stream per peer with all its tracks, whichever stream the peer sent each one in.
    this.stream ??= new MediaStream();
    if (!this.stream.getTracks().includes(track)) this.stream.addTrack(track);
    for (const stream of streams) {
      if (this.#watchedStreams.has(stream)) continue;
      this.#watchedStreams.add(stream);
      // The browser takes a track out of the peer's stream when the peer stops sending it.
      stream.addEventListener("removetrack", ({ track: removed }) => {
        this.stream?.removeTrack(removed);
        this.emit("track-removed", removed);
      });
    }
    this.emit("track", track, this.stream);
  }

  #onNote(data: unknown): void {
    const note = parseNote(data);
    if (!note) return;
    if (note.type === "media") {
      this.media = { audio: note.audio, video: note.video };
      this.emit("media", this.media);
    }
    this.#context.onNote(this, note);
  }
}
