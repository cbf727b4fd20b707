import type { Json } from "../../protocol/events";
import type { ConnectionState } from "../../signaling/connection-state";
import type { StateUpdate } from "../../signaling/event-result";

/** What the runtime allows in one WebSocket attachment. */
const ATTACHMENT_LIMIT_BYTES = 16_384;

/**
 * The state as stored in the attachment: `peerinfo` as the UTF-8 bytes of
 * its JSON. Structured clone writes every number as an 8-byte double (a
 * 4 KB `[-0,-0,...]` becomes ~18 KB) and strings with one non-Latin-1
 * character at two bytes a character, so a peerinfo within its JSON limit
 * could overflow the attachment; its UTF-8 bytes are exactly what was
 * counted against that limit.
 */
type StoredState = Omit<ConnectionState, "peerinfo"> & { peerinfo: Uint8Array | null };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The connection state of each socket an object holds: in memory while the
 * object lives, written through to the socket's attachment, which is what
 * survives hibernation and eviction. A message reads its connection from
 * memory; only a change writes, and only a woken object reads attachments.
 */
export class Connections {
  /** By the tag each WebSocket was accepted under (a recovered session's socket id may differ from it). */
  readonly #byTag = new Map<string, ConnectionState>();

  /** The state of the socket tagged `tag`, or null if it has none (a bug, or a foreign socket). */
  read(ws: WebSocket, tag: string): ConnectionState | null {
    const known = this.#byTag.get(tag);
    if (known) return known;
    const state = decode(ws.deserializeAttachment());
    if (state) this.#byTag.set(tag, state);
    return state;
  }

  /** Stores the state of the socket tagged `tag`. */
  write(ws: WebSocket, tag: string, state: ConnectionState): void {
    ws.serializeAttachment(encode(state));
    this.#byTag.set(tag, state);
  }

  /**
   * Applies a change to the state as it is now and stores the result;
   * null if the socket has no state. The attachment is written first, so
   * memory never holds what hibernation would lose.
   */
  update(ws: WebSocket, tag: string, change: StateUpdate): ConnectionState | null {
    const current = this.read(ws, tag);
    if (!current) return null;
    const next = change(current);
    this.write(ws, tag, next);
    return next;
  }

  /** The socket is gone: its state need not be remembered. */
  forget(tag: string): void {
    this.#byTag.delete(tag);
  }
}

/**
 * Upper bound of an attachment's size: strings at two bytes a character,
 * plus a margin for the field names and numbers. The limits keep it far
 * under {@link ATTACHMENT_LIMIT_BYTES}: peerinfo at most 8 KiB, rooms and
 * requests at most 16 names of 128 characters (4 KiB), ids ~100 bytes.
 */
function attachmentBytes(stored: StoredState): number {
  let strings = stored.engineId.length + stored.socketId.length + (stored.app?.length ?? 0);
  for (const room of stored.rooms) strings += room.length;
  for (const room of stored.requested) strings += room.length;
  return 2 * strings + (stored.peerinfo?.byteLength ?? 0) + 512;
}

function encode(state: ConnectionState): StoredState {
  const stored: StoredState = {
    ...state,
    peerinfo: state.peerinfo === null ? null : encoder.encode(JSON.stringify(state.peerinfo)),
  };
  const bytes = attachmentBytes(stored);
  if (bytes > ATTACHMENT_LIMIT_BYTES) {
    // The limits make this impossible; if they change, fail the change, not the runtime call.
    throw new RangeError(`connection state of ${bytes} bytes is over the attachment limit`);
  }
  return stored;
}

function decode(value: unknown): ConnectionState | null {
  const stored = value as StoredState | null;
  if (!stored || typeof stored.socketId !== "string") return null;
  const peerinfo = stored.peerinfo instanceof Uint8Array ? (JSON.parse(decoder.decode(stored.peerinfo)) as Json) : null;
  return { ...stored, peerinfo };
}
