import type { OwedNotice } from "./claims";

/**
 * A kept session's note of a join request it was not told of (a record in
 * its event log, never sent): the request stays in the room, whose
 * notices would otherwise fill the session's budget and end it (a crowd of
 * candidates asking to join while the owner's connection is down).
 */
const OWED_NOTICE = "owed-notice:";

/**
 * Most notes one dropped session keeps, the newest: as many requests as can
 * wait at once in the 16 rooms a socket may be in, at the default
 * MAX_PENDING_REQUESTS of 32. Candidates that give up and are replaced by
 * others only push out notes of requests that no longer wait.
 */
export const MAX_OWED_NOTES = 16 * 32;

/**
 * The note a session keeps for a join request in `room` by `candidate`.
 *
 * @example owedNotice("lobby", "c1") // 'owed-notice:{"room":"lobby","candidate":"c1"}'
 */
export function owedNotice(room: string, candidate: string): string {
  return `${OWED_NOTICE}${JSON.stringify({ room, candidate })}`;
}

/** The join request a note in a session's log stands for, or null for an event. */
export function owedOf(frame: string): OwedNotice | null {
  return frame.startsWith(OWED_NOTICE) ? (JSON.parse(frame.slice(OWED_NOTICE.length)) as OwedNotice) : null;
}

/** The candidate of a `room-join-request` notice frame, or null for any other frame. */
export function joinRequestCandidate(frame: string): string | null {
  if (!frame.startsWith('42["room-join-request",')) return null;
  const [, data] = JSON.parse(frame.slice(2)) as [string, { peer_id?: unknown }];
  return typeof data.peer_id === "string" ? data.peer_id : null;
}
