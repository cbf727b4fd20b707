import { describe, expect, it } from "vitest";
import {
  asCandidate,
  asDescription,
  type Candidate,
  type Description,
  isOfferCollision,
  type NegotiablePeerConnection,
  Negotiator,
  type Signal,
} from "../../src/client/negotiation";

const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/**
 * A model of RTCPeerConnection's signaling state machine (JSEP): offers from `stable`, answers
 * from `have-remote-offer`, an implicit rollback of our offer when a remote offer is applied in
 * `have-local-offer`, and `negotiationneeded` fired whenever the connection is stable with changes
 * not yet negotiated. Each operation takes a turn of the event loop, as a browser's does.
 */
class ModelPc implements NegotiablePeerConnection {
  signalingState = "stable";
  localDescription: { type: string; sdp: string } | null = null;
  remoteDescription: Description | null = null;
  candidates: Candidate[] = [];
  /** Changes (tracks) of ours that no completed negotiation has carried yet. */
  pending: string[] = [];
  /** Changes of ours the other side has seen in an offer of ours it applied. */
  negotiated: string[] = [];
  /** Changes carried by our current offer. */
  #inOffer: string[] = [];
  #offers = 0;
  onNegotiationNeeded: () => void = () => undefined;

  constructor(readonly name: string) {}

  /** A track added: negotiation needed. */
  change(what: string): void {
    this.pending.push(what);
    this.#maybeFire();
  }

  /** Operations run one at a time, in order (the operations chain). */
  #chain: Promise<unknown> = Promise.resolve();
  #running = 0;

  #enqueue<T>(operation: () => Promise<T>): Promise<T> {
    this.#running += 1;
    const result = this.#chain.then(operation).finally(() => {
      this.#running -= 1;
      if (this.#running === 0) this.#maybeFire();
    });
    this.#chain = result.catch(() => undefined);
    return result;
  }

  setLocalDescription(): Promise<void> {
    return this.#enqueue(() => this.#setLocal());
  }

  setRemoteDescription(description: Description): Promise<void> {
    return this.#enqueue(() => this.#setRemote(description));
  }

  async #setLocal(): Promise<void> {
    await tick();
    if (this.signalingState === "stable") {
      this.#inOffer = [...this.pending];
      this.localDescription = { type: "offer", sdp: `${this.name}:${++this.#offers}:${this.#inOffer.join(",")}` };
      this.signalingState = "have-local-offer";
    } else if (this.signalingState === "have-remote-offer") {
      this.localDescription = { type: "answer", sdp: `${this.name}:answer` };
      this.signalingState = "stable";
      this.#maybeFire();
    } else {
      throw new Error(`InvalidStateError: setLocalDescription in ${this.signalingState}`);
    }
  }

  async #setRemote(description: Description): Promise<void> {
    await tick();
    if (description.type === "offer") {
      if (this.signalingState === "have-local-offer") {
        this.localDescription = null; // implicit rollback: our offer is withdrawn, its changes still pending
        this.#inOffer = [];
      } else if (this.signalingState !== "stable") {
        throw new Error(`InvalidStateError: remote offer in ${this.signalingState}`);
      }
      this.remoteDescription = description;
      this.signalingState = "have-remote-offer";
    } else if (description.type === "answer") {
      if (this.signalingState !== "have-local-offer")
        throw new Error(`InvalidStateError: answer in ${this.signalingState}`);
      this.remoteDescription = description;
      this.signalingState = "stable";
      this.negotiated.push(...this.#inOffer);
      this.pending = this.pending.filter((what) => !this.#inOffer.includes(what));
      this.#inOffer = [];
      this.#maybeFire();
    }
  }

  async addIceCandidate(candidate: Candidate): Promise<void> {
    await tick();
    if (!this.remoteDescription) throw new Error("InvalidStateError: no remote description");
    this.candidates.push(candidate);
  }

  #maybeFire(): void {
    // Fired in a later task, and only if still stable with changes pending and no operation
    // running then, as browsers do (an operation that ends checks again).
    const due = () => this.pending.length > 0 && this.signalingState === "stable" && this.#running === 0;
    if (!due()) return;
    setTimeout(() => {
      if (due()) this.onNegotiationNeeded();
    }, 0);
  }
}

/** Two modelled connections wired through a signaling channel that keeps order and takes a turn. */
function pair(options: { waitForRemoteOffer?: boolean } = {}) {
  const errors: Error[] = [];
  const sent: Array<{ from: string; signal: Signal }> = [];
  const a = new ModelPc("impolite");
  const b = new ModelPc("polite");
  let negotiatorA: Negotiator;
  let negotiatorB: Negotiator;
  const deliver = (to: () => Negotiator, from: string) => (signal: Signal) => {
    sent.push({ from, signal });
    setTimeout(() => {
      if ("description" in signal) void to().receiveDescription(signal.description);
      else void to().receiveCandidate(signal.candidate);
    }, 1);
  };
  negotiatorA = new Negotiator(a, {
    polite: false,
    send: deliver(() => negotiatorB, "a"),
    onError: (e) => errors.push(e),
  });
  negotiatorB = new Negotiator(b, {
    polite: true,
    waitForRemoteOffer: options.waitForRemoteOffer ?? false,
    send: deliver(() => negotiatorA, "b"),
    onError: (e) => errors.push(e),
  });
  a.onNegotiationNeeded = () => void negotiatorA.negotiate();
  b.onNegotiationNeeded = () => void negotiatorB.negotiate();
  const settled = async () => {
    for (let i = 0; i < 200; i++) await tick();
  };
  return { a, b, negotiatorA, negotiatorB, errors, sent, settled };
}

const offersFrom = (sent: Array<{ from: string; signal: Signal }>, from: string) =>
  sent.filter((s) => s.from === from && "description" in s.signal && s.signal.description.type === "offer").length;

describe("perfect negotiation (W3C pattern) over a model of the signaling state machine", () => {
  it("calls an offer received while making or holding our own a collision", () => {
    expect(isOfferCollision({ makingOffer: true, signalingState: "stable", settingRemoteAnswer: false })).toBe(true);
    expect(
      isOfferCollision({ makingOffer: false, signalingState: "have-local-offer", settingRemoteAnswer: false }),
    ).toBe(true);
    expect(
      isOfferCollision({ makingOffer: false, signalingState: "have-local-offer", settingRemoteAnswer: true }),
    ).toBe(false);
    expect(isOfferCollision({ makingOffer: false, signalingState: "stable", settingRemoteAnswer: false })).toBe(false);
  });

  it("settles glare (both sides add a track at once) with both tracks negotiated and no error", async () => {
    const { a, b, errors, sent, settled } = pair();
    a.change("a-video");
    b.change("b-video");
    await settled();
    expect(errors).toEqual([]);
    expect([a.signalingState, b.signalingState]).toEqual(["stable", "stable"]);
    expect(a.negotiated).toEqual(["a-video"]);
    expect(b.negotiated).toEqual(["b-video"]);
    // Both offered at once; the polite side's first offer was rolled back and offered again later.
    expect(offersFrom(sent, "a")).toBe(1);
    expect(offersFrom(sent, "b")).toBe(2);
  });

  it("settles repeated glare: each side adds three tracks, interleaved, and every one is negotiated", async () => {
    const { a, b, errors, settled } = pair();
    for (const n of [1, 2, 3]) {
      a.change(`a${n}`);
      b.change(`b${n}`);
      await tick();
    }
    await settled();
    expect(errors).toEqual([]);
    expect([...a.negotiated].sort()).toEqual(["a1", "a2", "a3"]);
    expect([...b.negotiated].sort()).toEqual(["b1", "b2", "b3"]);
    expect(a.pending).toEqual([]);
    expect(b.pending).toEqual([]);
  });

  it("lets the member that waits for the newcomer's first offer offer its own changes only after answering it", async () => {
    const { a, b, errors, sent, settled } = pair({ waitForRemoteOffer: true });
    b.change("member-camera"); // before the newcomer offered: held back
    await settled();
    expect(offersFrom(sent, "b")).toBe(0);
    a.change("newcomer-camera");
    await settled();
    expect(errors).toEqual([]);
    expect(a.negotiated).toEqual(["newcomer-camera"]);
    expect(b.negotiated).toEqual(["member-camera"]);
    expect(offersFrom(sent, "b")).toBe(1);
  });

  it("takes an offer sent again after a signaling drop, when both copies arrive, without an error", async () => {
    const { a, b, negotiatorB, errors, sent, settled } = pair();
    a.change("video");
    await settled();
    const offer = sent.find((s) => s.from === "a" && "description" in s.signal);
    if (!offer || !("description" in offer.signal)) throw new Error("no offer");
    // The same offer again (resent by the offerer after its socket came back): answered again,
    // and that second answer finds the offerer stable and is dropped.
    await negotiatorB.receiveDescription(offer.signal.description);
    await settled();
    expect(errors).toEqual([]);
    expect([a.signalingState, b.signalingState]).toEqual(["stable", "stable"]);
    expect(sent.filter((s) => s.from === "b").length).toBe(2);
  });

  it("keeps candidates that overtake their description until it is applied", async () => {
    const pc = new ModelPc("solo");
    const errors: Error[] = [];
    const negotiator = new Negotiator(pc, { polite: true, send: () => undefined, onError: (e) => errors.push(e) });
    await negotiator.receiveCandidate({ candidate: "candidate:1", sdpMid: "0" });
    expect(pc.candidates).toEqual([]);
    await negotiator.receiveDescription({ type: "offer", sdp: "remote" });
    expect(pc.candidates).toEqual([{ candidate: "candidate:1", sdpMid: "0" }]);
    expect(errors).toEqual([]);
  });

  it("gives the unanswered offer to send again after signaling was lost, and nothing once answered", async () => {
    const { a, negotiatorA, settled } = pair();
    const lonely = new Negotiator(new ModelPc("x"), { polite: false, send: () => undefined, onError: () => undefined });
    expect(lonely.pendingOffer()).toBeNull();
    a.change("video");
    await settled();
    expect(negotiatorA.pendingOffer()).toBeNull(); // answered
    const stuck = new ModelPc("stuck");
    const negotiator = new Negotiator(stuck, { polite: false, send: () => undefined, onError: () => undefined });
    await negotiator.negotiate();
    expect(negotiator.pendingOffer()).toEqual({ type: "offer", sdp: stuck.localDescription?.sdp });
  });
});

describe("what a relay may carry (anything: the server passes it on unchanged)", () => {
  it.each([
    [
      { type: "offer", sdp: "v=0" },
      { type: "offer", sdp: "v=0" },
    ],
    [
      { type: "answer", sdp: "v=0", extra: 1 },
      { type: "answer", sdp: "v=0" },
    ],
    [{ type: "rollback" }, null],
    [{ type: "offer" }, null],
    [{ type: "offer", sdp: 42 }, null],
    ["v=0", null],
    [null, null],
    [[{ type: "offer", sdp: "v=0" }], null],
  ])("takes %j as the description %j", (value, expected) => {
    expect(asDescription(value)).toEqual(expected);
  });

  it.each([
    [{ candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host", sdpMid: "0", sdpMLineIndex: 0 }, true],
    [{ candidate: "", sdpMid: null, sdpMLineIndex: null }, true], // end of candidates
    [{ candidate: "candidate:1", usernameFragment: "abc" }, true],
    [{ candidate: 1 }, false],
    [{ candidate: "x", sdpMLineIndex: "0" }, false],
    [{ candidate: "x", sdpMid: 0 }, false],
    ["candidate:1", false],
    [null, false],
  ])("takes %j as a candidate: %s", (value, ok) => {
    expect(asCandidate(value) !== null).toBe(ok);
  });
});
