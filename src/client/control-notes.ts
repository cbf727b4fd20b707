/**
 * Notes the library's two ends of a peer connection send each other on its control channel, a
 * data channel negotiated by both sides before the first offer (`{ negotiated: true, id: 0 }`), so
 * it needs no in-band handshake. It runs end to end (DTLS): the server never sees these notes, and
 * a note can only come from the peer at the other end of that connection.
 *
 * - `media`: what the sender sends, per kind: `live`, `muted` (a track, switched off by its user)
 *   or `none` (no such device at all). A peer with no camera is not a peer who turned it off.
 * - `bye`: the sender is leaving; close now rather than wait for the server's `room-user-leave`.
 * - `back`: the sender lost its server session and is coming back under a new peer id: keep this
 *   connection and its media, and let the owner recognise the join request of that id.
 */

export const CONTROL_CHANNEL = { label: "edge-signaling", id: 0 } as const;
/** Notes are tiny; anything longer is not one of ours. */
export const MAX_NOTE_CHARS = 1_024;

export type MediaState = "live" | "muted" | "none";
export interface RemoteMedia {
  audio: MediaState;
  video: MediaState;
}

export type ControlNote =
  | { type: "media"; audio: MediaState; video: MediaState }
  | { type: "bye" }
  | { type: "back"; peer_id: string };

const MEDIA_STATES: readonly string[] = ["live", "muted", "none"];
const isMediaState = (value: unknown): value is MediaState => typeof value === "string" && MEDIA_STATES.includes(value);

/**
 * A note from the channel, or `null` for anything that is not a well-formed note (ignored: the
 * other end may run another version of the library, or not be this library at all).
 *
 * @example
 * parseNote('{"type":"media","audio":"muted","video":"none"}') // { type: "media", audio: "muted", video: "none" }
 * parseNote("hello") // null
 */
export function parseNote(data: unknown): ControlNote | null {
  if (typeof data !== "string" || data.length > MAX_NOTE_CHARS) return null;
  let note: unknown;
  try {
    note = JSON.parse(data);
  } catch {
    return null;
  }
  if (!note || typeof note !== "object") return null;
  const fields = note as Record<string, unknown>;
  switch (fields.type) {
    case "media":
      return isMediaState(fields.audio) && isMediaState(fields.video)
        ? { type: "media", audio: fields.audio, video: fields.video }
        : null;
    case "bye":
      return { type: "bye" };
    case "back":
      return typeof fields.peer_id === "string" && fields.peer_id.length > 0 && fields.peer_id.length <= 128
        ? { type: "back", peer_id: fields.peer_id }
        : null;
    default:
      return null;
  }
}

/**
 * What a set of local tracks amounts to, per kind.
 *
 * @example
 * mediaStateOf([{ kind: "audio", enabled: false, readyState: "live" }]) // { audio: "muted", video: "none" }
 */
export function mediaStateOf(tracks: readonly { kind: string; enabled: boolean; readyState: string }[]): RemoteMedia {
  const stateOf = (kind: string): MediaState => {
    const ofKind = tracks.filter((track) => track.kind === kind && track.readyState === "live");
    if (ofKind.length === 0) return "none";
    return ofKind.some((track) => track.enabled) ? "live" : "muted";
  };
  return { audio: stateOf("audio"), video: stateOf("video") };
}
