/**
 * Nesting depth of JSON text, read without parsing it. Parsing deep nesting
 * is where the cost is: V8 takes ~0.4 s for a 1 MB frame of `[[[…]]]`, and
 * serializing it again overflows the stack. This scan stops at the first
 * bracket past the limit, and skips strings with `indexOf`.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/**
 * Whether the JSON text from `start` on opens more than `limit` arrays and
 * objects inside each other. Brackets inside strings do not count. Text that
 * is not JSON gets some answer; parsing it fails later anyway.
 *
 * @example
 * jsonNestedDeeperThan('[[1],{"a":[2]}]', 0, 2); // true: 3 levels
 * jsonNestedDeeperThan('["[[["]', 0, 1); // false
 */
export function jsonNestedDeeperThan(text: string, start: number, limit: number): boolean {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (char === QUOTE) {
      i = endOfJsonString(text, i);
      if (i < 0) return false;
    } else if (char === OPEN_BRACKET || char === OPEN_BRACE) {
      if (++depth > limit) return true;
    } else if (char === CLOSE_BRACKET || char === CLOSE_BRACE) {
      depth--;
    }
  }
  return false;
}

/**
 * Index of the quote that closes the JSON string whose opening quote is at
 * `start`, or -1 if it never closes.
 *
 * @example endOfJsonString('"a\\"b" x', 0) === 5
 */
export function endOfJsonString(text: string, start: number): number {
  let at = start;
  for (;;) {
    at = text.indexOf('"', at + 1);
    if (at < 0) return -1;
    // Escaped if preceded by an odd number of backslashes.
    let backslashes = 0;
    while (text.charCodeAt(at - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return at;
  }
}
