/**
 * Whether a string takes more than `limit` bytes in UTF-8, counted without
 * encoding it: no copy of a frame that may be a megabyte, and the count stops
 * as soon as the answer is known. A lone surrogate counts 3 bytes, as U+FFFD,
 * which is how TextEncoder and the runtime encode it.
 *
 * @example
 * utf8BytesExceed("é", 1); // true: "é" is 2 bytes
 * utf8BytesExceed("😀", 4); // false
 */
export function utf8BytesExceed(text: string, limit: number): boolean {
  // Each UTF-16 unit takes at least one byte and at most three.
  if (text.length > limit) return true;
  if (text.length * 3 <= limit) return false;
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4; // a surrogate pair: one code point above U+FFFF
      i++;
    } else bytes += 3;
    if (bytes > limit) return true;
  }
  return false;
}
