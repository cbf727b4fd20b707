import type { Log } from "../runtime/log";
import { answerClose, type ChannelSocket, closeChannel } from "./channel-socket";
import type { LocalDelivery } from "./local-delivery";
import { decodeBatch, encodeAnswer, type RelayBatch } from "./relay-wire";

export interface ReceiverHost {
  /** Delivers relays to their receivers, here or where their sessions went; false if it could not. */
  delivery: Pick<LocalDelivery, "relay" | "relayNow">;
  log: Log;
}

/**
 * How long the receiving end may wait before it answers for relays it
 * delivered. Nothing waits on that answer but the sender's memory of them:
 * a relay it could not deliver is answered at once, and so is a batch whose
 * sender asked (a client's ack, a settle before its next request). Waiting
 * lets one answer cover many relays, where an answer per relay would cost
 * about what the RPC it replaced cost. At 50 ms, 200 pairs trickling one
 * relay at a time (about 40 relays a second between two objects) got an
 * answer for every two. What the sender keeps meanwhile (each relay's
 * promise and request) is bounded: past 1 MiB of relays unanswered, it asks
 * for the answer at once (relay-channels.ts).
 */
export const ANSWER_DELAY_MS = 250;

/** The receiving end of one channel. */
interface Incoming {
  /** Batches that wait for one before them (its relays needed storage or another object), in order. */
  tail: Promise<void>;
  queued: number;
  /** The channel closed: its sender sends what was not answered for by the room, so nothing more is delivered here. */
  closed: boolean;
  /** When the last answer left (Date.now()). */
  answeredAt: number;
  /** The last relay handled, and those not delivered since the last answer. */
  upTo: number;
  undelivered: number[];
  answerTimer: ReturnType<typeof setTimeout> | null;
}

/**
 * The receiving end of relay channels (relay-channels.ts is the sending end):
 * each relay is handed to this object's delivery in order, and the channel
 * is answered for what was handled. A relay to a socket held here is handled
 * as its message arrives; one that needs more (a kept session's storage, an
 * object its session moved to) holds back the batches behind it.
 */
export class RelayReceiver {
  constructor(private readonly host: ReceiverHost) {}

  /** Takes the server end of a channel another object opened, accepted. */
  accept(socket: ChannelSocket): void {
    const incoming: Incoming = {
      tail: Promise.resolve(),
      queued: 0,
      closed: false,
      answeredAt: Date.now(),
      upTo: 0,
      undelivered: [],
      answerTimer: null,
    };
    socket.addEventListener("message", (event) => {
      const batch = typeof event.data === "string" ? decodeBatch(event.data) : null;
      if (!batch) {
        // Only this worker's objects open channels: a bug. Closing makes the sender send its relays by the room.
        console.error(`[${this.host.log.name()}] relay channel: not a batch; closed`);
        return closeChannel(socket, 1003, "not a batch");
      }
      this.#take(socket, incoming, batch);
    });
    const stop = () => {
      incoming.closed = true;
      if (incoming.answerTimer) clearTimeout(incoming.answerTimer);
      incoming.answerTimer = null;
    };
    socket.addEventListener("close", (event) => {
      stop();
      answerClose(socket, event.code);
    });
    socket.addEventListener("error", stop);
  }

  #take(socket: ChannelSocket, incoming: Incoming, batch: RelayBatch): void {
    let rest = batch;
    if (incoming.queued === 0) {
      const left = this.#handleNow(incoming, batch);
      if (left === batch.items.length) {
        this.#handled(socket, incoming, batch.answerNow);
        return;
      }
      rest = { ...batch, first: batch.first + left, items: batch.items.slice(left) };
    }
    incoming.queued++;
    incoming.tail = incoming.tail
      .then(() => this.#handleLater(socket, incoming, rest))
      .catch((error: unknown) => console.error(`[${this.host.log.name()}] relay channel:`, error))
      .finally(() => incoming.queued--);
  }

  /** Handles the batch's relays while each is decided at once; returns how many were. */
  #handleNow(incoming: Incoming, batch: RelayBatch): number {
    for (const [i, { ref, to, frame }] of batch.items.entries()) {
      let delivered: boolean | undefined;
      try {
        delivered = this.host.delivery.relayNow(ref, to, frame);
      } catch (error) {
        this.#failed(to, error);
        delivered = false;
      }
      if (delivered === undefined) return i;
      this.#record(incoming, batch.first + i, delivered);
    }
    return batch.items.length;
  }

  async #handleLater(socket: ChannelSocket, incoming: Incoming, batch: RelayBatch): Promise<void> {
    for (const [i, { ref, to, frame }] of batch.items.entries()) {
      if (incoming.closed) return;
      // Slow deliveries (storage, another object) answer as they go: the sender gives up on a channel
      // that answers for nothing in 5 s, and this one is making progress.
      if (Date.now() - incoming.answeredAt >= ANSWER_DELAY_MS && incoming.upTo >= batch.first) {
        this.#answer(socket, incoming);
      }
      let delivered = false;
      try {
        delivered = await this.host.delivery.relay(ref, to, frame);
      } catch (error) {
        this.#failed(to, error);
      }
      this.#record(incoming, batch.first + i, delivered);
    }
    this.#handled(socket, incoming, batch.answerNow);
  }

  #record(incoming: Incoming, seq: number, delivered: boolean): void {
    if (!delivered) incoming.undelivered.push(seq);
    incoming.upTo = seq;
  }

  /** Only this relay is undelivered (its sender then asks the room); the others go on. */
  #failed(to: string, error: unknown): void {
    console.error(`[${this.host.log.name()}] relay to ${to} failed:`, error);
  }

  #handled(socket: ChannelSocket, incoming: Incoming, answerNow: boolean): void {
    if (incoming.closed) return;
    if (answerNow || incoming.undelivered.length > 0) this.#answer(socket, incoming);
    else incoming.answerTimer ??= setTimeout(() => this.#answer(socket, incoming), ANSWER_DELAY_MS);
  }

  #answer(socket: ChannelSocket, incoming: Incoming): void {
    if (incoming.answerTimer) clearTimeout(incoming.answerTimer);
    incoming.answerTimer = null;
    incoming.answeredAt = Date.now();
    try {
      socket.send(encodeAnswer({ upTo: incoming.upTo, undelivered: incoming.undelivered.splice(0) }));
    } catch {
      // The channel is gone: its sender sends what was not answered for by the room.
    }
  }
}
