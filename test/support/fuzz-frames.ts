/**
 * Hostile Engine.IO / Socket.IO frames for fuzzing: random bytes, valid
 * prefixes with broken JSON, wrong types, huge numbers, deep nesting, binary
 * and oversized frames, and mutations of real frames. Seeded, so a failing
 * run can be replayed.
 */

/** A small seeded PRNG (mulberry32). */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const EVENTS = [
  "auth-request",
  "room-create-request",
  "room-join-request",
  "room-join-accept",
  "room-join-reject",
  "room-leave-request",
  "relay-session-description",
  "relay-ice-candidate",
  "disconnect",
  "__proto__",
  "constructor",
];

const VALUES: unknown[] = [
  null,
  true,
  0,
  -1,
  1e308,
  Number.MAX_SAFE_INTEGER,
  "",
  "x".repeat(300),
  [],
  {},
  { auth: "garbage" },
  { auth: 5, room: {} },
  { auth: "a.b.c", room: "fuzz-room", to: "nobody", ice_candidate: { candidate: 1 } },
  { __proto__: { polluted: true } },
  { token: ["x"] },
];

function deep(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { a: value };
  return value;
}

/** One hostile frame. */
export function fuzzFrame(next: () => number, maxFrameBytes: number): string | Uint8Array {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;
  const kind = Math.floor(next() * 12);
  switch (kind) {
    case 0: // random printable garbage
      return Array.from({ length: 1 + Math.floor(next() * 40) }, () =>
        String.fromCharCode(32 + Math.floor(next() * 95)),
      ).join("");
    case 1: // an event with a random argument
      return `42${JSON.stringify([pick(EVENTS), pick(VALUES)])}`;
    case 2: // an event with an ack id, possibly absurd
      return `42${pick(["1", "999999999999999", "9".repeat(30), "-1", "0"])}${JSON.stringify([pick(EVENTS), pick(VALUES)])}`;
    case 3: // valid prefix, broken JSON
      return `42["${pick(EVENTS)}",{"auth":`;
    case 4: // deep nesting
      return `42${JSON.stringify([pick(EVENTS), deep(50 + Math.floor(next() * 500))])}`;
    case 5: // binary frame
      return new Uint8Array(Array.from({ length: 1 + Math.floor(next() * 64) }, () => Math.floor(next() * 256)));
    case 6: // oversized
      return `42["relay-ice-candidate","${"z".repeat(maxFrameBytes + 10)}"]`;
    case 7: // other Engine.IO / Socket.IO packet types
      return pick([
        "0",
        "1",
        "2",
        "2probe",
        "3",
        "5",
        "6",
        "7",
        "b",
        "40/admin,",
        "41",
        "43",
        "44{}",
        '451-["x"]',
        "4",
        "",
      ]);
    case 8: // wrong types in a connect
      return `40${JSON.stringify(pick(VALUES))}`;
    case 9: // control characters and lone surrogates
      return `42["${pick(EVENTS)}","\u0000\ud800\u001f"]`;
    case 10: // numbers where strings belong
      return `42[${Math.floor(next() * 1e6)},${JSON.stringify(pick(VALUES))}]`;
    default: {
      // mutate a real frame: flip, drop or duplicate characters
      const base = `42["relay-ice-candidate",{"auth":"x","room":"fuzz-room","to":"y","ice_candidate":{"candidate":"c"}}]`;
      const chars = [...base];
      for (let i = 0; i < 1 + Math.floor(next() * 5); i++) {
        const at = Math.floor(next() * chars.length);
        const op = Math.floor(next() * 3);
        if (op === 0) chars[at] = String.fromCharCode(Math.floor(next() * 128));
        else if (op === 1) chars.splice(at, 1);
        else chars.splice(at, 0, chars[at] ?? "");
      }
      return chars.join("");
    }
  }
}
