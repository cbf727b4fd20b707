/**
 * The W3C "perfect negotiation" pattern (https://w3c.github.io/webrtc-pc/#perfect-negotiation-example)
 * for one peer connection: either side may offer at any time (a track added, an ICE restart), and
 * when both offer at once the polite side gives way (its offer is rolled back by the remote
 * offer) while the impolite side ignores the remote offer. Neither ever deadlocks.
 *
 * It speaks to a small part of RTCPeerConnection, so that the pattern is unit-tested with a
 * model of the signaling state machine (test/unit/client-negotiation.test.ts).
 */

export interface Description {
  type: "offer" | "answer" | "pranswer" | "rollback";
  sdp?: string;
}
export interface Candidate {
  candidate?: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
  usernameFragment?: string | null;
}

/**
 * A session description from the wire, or `null` when it is not one: the server passes relays on
 * unchanged, so anything may come (docs/PROTOCOL.md, "What the relays carry").
 *
 * @example
 * asDescription({ type: "offer", sdp: "v=0…" }) // { type: "offer", sdp: "v=0…" }
 * asDescription("hello") // null
 */
export function asDescription(value: unknown): Description | null {
  if (!value || typeof value !== "object") return null;
  const { type, sdp } = value as { type?: unknown; sdp?: unknown };
  if ((type !== "offer" && type !== "answer") || typeof sdp !== "string") return null;
  return { type, sdp };
}

/**
 * An ICE candidate from the wire (`RTCIceCandidateInit`), or `null` when it is not one.
 *
 * @example
 * asCandidate({ candidate: "candidate:1 1 udp …", sdpMid: "0", sdpMLineIndex: 0 }) // the same
 */
export function asCandidate(value: unknown): Candidate | null {
  if (!value || typeof value !== "object") return null;
  const { candidate, sdpMid, sdpMLineIndex, usernameFragment } = value as Record<string, unknown>;
  if (typeof candidate !== "string") return null;
  const optional = (field: unknown, type: "string" | "number") =>
    field === null || field === undefined || typeof field === type;
  if (!optional(sdpMid, "string") || !optional(sdpMLineIndex, "number") || !optional(usernameFragment, "string"))
    return null;
  return value as Candidate;
}

/** The part of RTCPeerConnection that negotiation uses. */
export interface NegotiablePeerConnection {
  readonly signalingState: string;
  readonly remoteDescription: unknown;
  readonly localDescription: { type: string; sdp: string } | null;
  setLocalDescription(): Promise<void>;
  setRemoteDescription(description: Description): Promise<void>;
  addIceCandidate(candidate: Candidate): Promise<void>;
}

/** What negotiation sends to the remote peer, through signaling. */
export type Signal = { description: Description } | { candidate: Candidate };

/**
 * Whether a remote offer collides with our own negotiation: we are making an offer, or have one
 * out that is not answered (and are not about to apply a remote answer).
 *
 * @example
 * isOfferCollision({ makingOffer: true, signalingState: "stable", settingRemoteAnswer: false }) // true
 */
export function isOfferCollision(state: {
  makingOffer: boolean;
  signalingState: string;
  settingRemoteAnswer: boolean;
}): boolean {
  const readyForOffer = !state.makingOffer && (state.signalingState === "stable" || state.settingRemoteAnswer);
  return !readyForOffer;
}

export interface NegotiatorOptions {
  /** The polite side gives way in a collision. The two ends of one connection must differ. */
  polite: boolean;
  send(signal: Signal): void;
  /** Errors negotiation cannot recover from by itself (they are rare: a broken description). */
  onError(error: Error): void;
  /**
   * `true` until the remote peer's first offer arrived: our own negotiation waits for it (the
   * protocol's convention is that the newcomer offers first; see docs/PROTOCOL.md).
   */
  waitForRemoteOffer?: boolean;
}

export class Negotiator {
  readonly #pc: NegotiablePeerConnection;
  readonly #options: NegotiatorOptions;
  #makingOffer = false;
  #ignoreOffer = false;
  #settingRemoteAnswer = false;
  #waitingForRemoteOffer: boolean;
  /** Candidates that came before the description they belong to. */
  #early: Candidate[] = [];

  constructor(pc: NegotiablePeerConnection, options: NegotiatorOptions) {
    this.#pc = pc;
    this.#options = options;
    this.#waitingForRemoteOffer = options.waitForRemoteOffer ?? false;
  }

  get polite(): boolean {
    return this.#options.polite;
  }

  /** Call from `negotiationneeded`: makes and sends an offer, unless we must wait for theirs. */
  async negotiate(): Promise<void> {
    // An offer under way carries this change too, or the browser asks again once stable.
    if (this.#waitingForRemoteOffer || this.#makingOffer) return;
    try {
      this.#makingOffer = true;
      await this.#pc.setLocalDescription();
      const local = this.#pc.localDescription;
      // Another description may have overtaken ours meanwhile (a remote offer applied): then the
      // connection is not waiting for an answer to this one, and it is not sent.
      if (local && local.type === "offer" && this.#pc.signalingState === "have-local-offer") {
        this.#options.send({ description: { type: "offer", sdp: local.sdp } });
      }
    } catch (error) {
      this.#options.onError(error as Error);
    } finally {
      this.#makingOffer = false;
    }
  }

  /** A description from the remote peer. */
  async receiveDescription(description: Description): Promise<void> {
    const collision =
      description.type === "offer" &&
      isOfferCollision({
        makingOffer: this.#makingOffer,
        signalingState: this.#pc.signalingState,
        settingRemoteAnswer: this.#settingRemoteAnswer,
      });
    this.#ignoreOffer = !this.#options.polite && collision;
    if (this.#ignoreOffer) return;
    // An answer to an offer already answered (an offer sent again after a signaling drop, when
    // both copies arrived): nothing to apply.
    if (description.type === "answer" && this.#pc.signalingState === "stable") return;
    try {
      this.#settingRemoteAnswer = description.type === "answer";
      await this.#pc.setRemoteDescription(description); // a polite side's own offer is rolled back here
      this.#settingRemoteAnswer = false;
      await this.#flushEarlyCandidates();
      if (description.type === "offer") {
        await this.#pc.setLocalDescription();
        const local = this.#pc.localDescription;
        if (local?.type === "answer") this.#options.send({ description: { type: "answer", sdp: local.sdp } });
        this.#releaseDeferred();
      }
    } catch (error) {
      this.#settingRemoteAnswer = false;
      this.#options.onError(error as Error);
    }
  }

  /** A candidate from the remote peer; kept until its description is applied. */
  async receiveCandidate(candidate: Candidate): Promise<void> {
    if (!this.#pc.remoteDescription) {
      this.#early.push(candidate);
      return;
    }
    try {
      await this.#pc.addIceCandidate(candidate);
    } catch (error) {
      // Candidates of an offer we ignored fail to apply, as the pattern expects.
      if (!this.#ignoreOffer) this.#options.onError(error as Error);
    }
  }

  /** The offer we sent, if it is still unanswered (sent again after signaling was lost for a while). */
  pendingOffer(): Description | null {
    const local = this.#pc.localDescription;
    if (this.#pc.signalingState !== "have-local-offer" || !local) return null;
    return { type: "offer", sdp: local.sdp };
  }

  async #flushEarlyCandidates(): Promise<void> {
    for (const candidate of this.#early.splice(0)) await this.receiveCandidate(candidate);
  }

  /**
   * After the first remote offer is answered, our own negotiations go ahead. Nothing to replay: a
   * connection that still needs negotiating fires `negotiationneeded` again once it is stable (the
   * spec's "update the negotiation-needed flag").
   */
  #releaseDeferred(): void {
    this.#waitingForRemoteOffer = false;
  }
}
