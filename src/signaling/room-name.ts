/**
 * The rule for room names, documented in docs/PROTOCOL.md: 1 to 128
 * characters (UTF-16 units), none of them control characters, line or
 * paragraph separators, or halves of a surrogate pair. The original server
 * took any string; this keeps names printable, well-formed and bounded, since
 * they appear in every event of the room and in logs.
 */
export const MAX_ROOM_NAME_LENGTH = 128;

/**
 * C0, DEL and C1 (`\p{Cc}`: U+0000-001F, U+007F-009F, so U+0085 NEXT LINE
 * too), U+2028 and U+2029, and lone surrogates: with the `u` flag a string
 * is read by code points, so `\p{Cs}` matches only a surrogate without its pair.
 */
const FORBIDDEN = /[\p{Cc}\p{Cs}\u2028\u2029]/u;

/** Human wording of the rule, used in error messages. */
export const ROOM_NAME_RULE = `room must be 1-${MAX_ROOM_NAME_LENGTH} characters with no control characters, line separators or unpaired surrogates`;

/**
 * @example
 * isValidRoomName("test-room"); // true
 * isValidRoomName(""); // false
 */
export function isValidRoomName(name: unknown): name is string {
  return typeof name === "string" && name.length > 0 && name.length <= MAX_ROOM_NAME_LENGTH && !FORBIDDEN.test(name);
}
