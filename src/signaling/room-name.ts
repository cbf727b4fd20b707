/**
 * The rule for room names, documented in docs/PROTOCOL.md: 1 to 128
 * characters, none of them control characters. The original server took any
 * string; this keeps names printable and bounded, since they appear in every
 * event of the room and in logs.
 */
export const MAX_ROOM_NAME_LENGTH = 128;

// biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to find them.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

/** Human wording of the rule, used in error messages. */
export const ROOM_NAME_RULE = `room must be 1-${MAX_ROOM_NAME_LENGTH} characters with no control characters`;

/**
 * @example
 * isValidRoomName("test-room"); // true
 * isValidRoomName(""); // false
 */
export function isValidRoomName(name: unknown): name is string {
  return (
    typeof name === "string" && name.length > 0 && name.length <= MAX_ROOM_NAME_LENGTH && !CONTROL_CHARACTERS.test(name)
  );
}
