import type { RoomRef } from "../../signaling/room-store";
import type { Log } from "../runtime/log";
import { type ChannelSocket, closeChannel } from "./channel-socket";
import { decodeBatch, encodeAnswer, type RelayBatch } from "./relay-wire";

export interface ReceiverHost {
  /** Delivers one relay to its receiver, here or where its session went (local-delivery.ts); false if it could not. */
  relay(ref: RoomRef, to: string, frame: string): Promise<boolean>;
  log: Log;
}

/**
 * How long the receiving end may wait before it answers for relays it
 * delivered. Nothing waits on that answer but the sender's memory of them:
 * a relay it could not deliver is answered at once, and so is a batch whose
 * sender asked (a client's ack, a settle before its next request). Waiting
 * lets one answer cover many relays, where an answer per relay would cost
 * about what the RPC it replaced cost.
 */
export const ANSWER_DELAY_MS = 50;

/** The receiving end of one channel. */
interface Incoming {
  /** Batches are handled one after another, in the order they came. */
  tail: Promise<void>;
  upTo: number;
  undelivered: number[];
  answerTimer: ReturnType<typeof setTimeout> | null;
}

/**
 * The receiving end of relay channels (relay-channels.ts is the sending end):
 * each relay is handed to this object's delivery in order, and the channel
 * is answered for what was handled.
 */
export class RelayReceiver {
  constructor(private readonly host: ReceiverHost) {}

  /** Takes the server end of a channel another object opened, accepted. */
  accept(socket: ChannelSocket): void {
    const incoming: Incoming = { tail: Promise.resolve(), upTo: 0, undelivered: [], answerTimer: null };
    socket.addEventListener("message", (event) => {
      const batch = typeof event.data === "string" ? decodeBatch(event.data) : null;
      if (!batch) {
        // Only this worker's objects open channels: a bug. Closing makes the sender send its relays by the room.
        console.error(`[${this.host.log.name()}] relay channel: not a batch; closed`);
        return closeChannel(socket, 1003, "not a batch");
      }
      incoming.tail = incoming.tail
        .then(() => this.#handle(socket, incoming, batch))
        .catch((error: unknown) => console.error(`[${this.host.log.name()}] relay channel:`, error));
    });
    const stop = () => {
      if (incoming.answerTimer) clearTimeout(incoming.answerTimer);
      closeChannel(socket);
    };
    socket.addEventListener("close", stop);
    socket.addEventListener("error", stop);
  }

  async #handle(socket: ChannelSocket, incoming: Incoming, batch: RelayBatch): Promise<void> {
    for (const [i, { ref, to, frame }] of batch.items.entries()) {
      const seq = batch.first + i;
      let delivered = false;
      try {
        delivered = await this.host.relay(ref, to, frame);
      } catch (error) {
        // Only this one is undelivered (its sender then asks the room); the others go on.
        console.error(`[${this.host.log.name()}] relay to ${to} failed:`, error);
      }
      if (!delivered) incoming.undelivered.push(seq);
      incoming.upTo = seq;
    }
    if (batch.answerNow || incoming.undelivered.length > 0) return this.#answer(socket, incoming);
    incoming.answerTimer ??= setTimeout(() => this.#answer(socket, incoming), ANSWER_DELAY_MS);
  }

  #answer(socket: ChannelSocket, incoming: Incoming): void {
    if (incoming.answerTimer) clearTimeout(incoming.answerTimer);
    incoming.answerTimer = null;
    try {
      socket.send(encodeAnswer({ upTo: incoming.upTo, undelivered: incoming.undelivered.splice(0) }));
    } catch {
      // The channel is gone: its sender sends what was not answered for by the room.
    }
  }
}
