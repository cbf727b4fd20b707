/** The key of every request whose address is missing or unreadable: they share one limit. */
export const UNKNOWN_ADDRESS = "unknown";

/**
 * The key a client's `POST /app` attempts are counted under, from its
 * `CF-Connecting-IP`: an IPv4 address as itself; an IPv6 address by its /64
 * prefix, since one subscriber usually holds a whole /64 and could otherwise
 * take a fresh address for every guess; an IPv4-mapped IPv6 address
 * (`::ffff:a.b.c.d`) as its IPv4 address. Never throws: anything else
 * (including no header) is `UNKNOWN_ADDRESS`.
 *
 * @example
 * addressKey("203.0.113.7"); // "203.0.113.7"
 * addressKey("2001:DB8:0:1::abcd"); // "2001:db8:0:1::/64"
 * addressKey("::ffff:203.0.113.7"); // "203.0.113.7"
 */
export function addressKey(header: string | undefined): string {
  const text = header?.trim() ?? "";
  const ipv4 = parseIpv4(text);
  if (ipv4) return ipv4.join(".");
  const groups = parseIpv6(text);
  if (!groups) return UNKNOWN_ADDRESS;
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [high = 0, low = 0] = groups.slice(6);
    return [high >> 8, high & 0xff, low >> 8, low & 0xff].join(".");
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(":")}::/64`;
}

/** Four octets of a dotted quad, or null. */
function parseIpv4(text: string): number[] | null {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p))) return null;
  const octets = parts.map(Number);
  return octets.every((o) => o <= 255) ? octets : null;
}

/** Eight 16-bit groups of an IPv6 address (RFC 4291 text form, with an optional zone), or null. */
function parseIpv6(text: string): number[] | null {
  const address = text.replace(/%[^%]+$/, "");
  const halves = address.split("::");
  if (halves.length > 2) return null;
  // Only the very end of the address may be a dotted quad.
  const head = parseGroups(halves[0] ?? "", halves.length === 1);
  const tail = halves.length === 2 ? parseGroups(halves[1] ?? "", true) : [];
  if (!head || !tail) return null;
  const given = head.length + tail.length;
  if (halves.length === 1) return given === 8 ? head : null;
  return given <= 7 ? [...head, ...new Array<number>(8 - given).fill(0), ...tail] : null;
}

/** Colon-separated hex groups; with `dottedEnd`, the last may be a dotted quad (two groups). */
function parseGroups(text: string, dottedEnd: boolean): number[] | null {
  if (text === "") return [];
  const parts = text.split(":");
  const last = parts.at(-1) ?? "";
  const ipv4 = dottedEnd && last.includes(".") ? parseIpv4(last) : null;
  if (last.includes(".") && !ipv4) return null;
  const hex = ipv4 ? parts.slice(0, -1) : parts;
  if (!hex.every((p) => /^[0-9a-f]{1,4}$/i.test(p))) return null;
  const groups = hex.map((p) => Number.parseInt(p, 16));
  if (ipv4) groups.push(((ipv4[0] ?? 0) << 8) | (ipv4[1] ?? 0), ((ipv4[2] ?? 0) << 8) | (ipv4[3] ?? 0));
  return groups;
}
