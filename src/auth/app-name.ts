/**
 * The rule for app names, documented in the README: 1 to 64 characters from
 * `A-Z a-z 0-9 . _ -`, starting with a letter or digit. App names become part
 * of room keys, so they are kept to characters that need no escaping anywhere.
 */
export const APP_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Human wording of {@link APP_NAME_PATTERN}, used in error messages. */
export const APP_NAME_RULE =
  "app must be 1-64 characters of A-Z, a-z, 0-9, '.', '_' or '-', starting with a letter or digit";

/**
 * @example
 * isValidAppName("demo-chat-test"); // true
 * isValidAppName("../etc"); // false
 */
export function isValidAppName(name: unknown): name is string {
  return typeof name === "string" && APP_NAME_PATTERN.test(name);
}
