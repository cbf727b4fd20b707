import { describe, expect, it } from "vitest";
import { MAX_NOTE_CHARS, mediaStateOf, parseNote } from "../../src/client/control-notes";
import { SignalingError } from "../../src/client/errors";
import { appOfToken, expiryOf, renewAfterMs } from "../../src/client/token-claims";

describe("control channel notes", () => {
  it.each([
    ['{"type":"media","audio":"muted","video":"none"}', { type: "media", audio: "muted", video: "none" }],
    ['{"type":"bye"}', { type: "bye" }],
    ['{"type":"back","peer_id":"Vt0abc"}', { type: "back", peer_id: "Vt0abc" }],
  ])("reads %s", (data, note) => {
    expect(parseNote(data)).toEqual(note);
  });

  it.each([
    ["not JSON", "hello"],
    ["not an object", "42"],
    ["null", "null"],
    ["an unknown type", '{"type":"hello"}'],
    ["a media state that is not one", '{"type":"media","audio":"loud","video":"live"}'],
    ["a back note without an id", '{"type":"back"}'],
    ["a back note with an absurd id", JSON.stringify({ type: "back", peer_id: "x".repeat(129) })],
    ["a note over the size limit", JSON.stringify({ type: "bye", pad: "x".repeat(MAX_NOTE_CHARS) })],
  ])("ignores %s", (_what, data) => {
    expect(parseNote(data)).toBeNull();
  });

  it("ignores binary data", () => {
    expect(parseNote(new ArrayBuffer(4))).toBeNull();
  });

  it("tells a peer with no camera from one who turned it off", () => {
    const track = (kind: string, enabled: boolean, readyState = "live") => ({ kind, enabled, readyState });
    expect(mediaStateOf([])).toEqual({ audio: "none", video: "none" });
    expect(mediaStateOf([track("audio", true), track("video", false)])).toEqual({ audio: "live", video: "muted" });
    expect(mediaStateOf([track("video", true, "ended")])).toEqual({ audio: "none", video: "none" });
  });
});

describe("appOfToken", () => {
  const jwt = (claims: unknown) =>
    `eyJhbGciOiJIUzI1NiJ9.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.sig`;
  it("reads the app claim of an app token without its key", () => {
    expect(appOfToken(jwt({ app: "demo-chat", iat: 1 }))).toBe("demo-chat");
    // base64url with the characters that differ from base64
    expect(appOfToken(jwt({ app: "a>?~", x: "ÿÿ" }))).toBe("a>?~");
  });
  it.each(["", "abc", "a.b.c", jwt({ iat: 1 }), jwt({ app: 42 }), jwt({ app: "" })])("finds no app in %j", (token) => {
    expect(appOfToken(token)).toBeNull();
  });
});

describe("session token expiry", () => {
  const jwt = (claims: unknown) =>
    `eyJhbGciOiJIUzI1NiJ9.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.sig`;
  it("reads exp (seconds) as milliseconds, or nothing", () => {
    expect(expiryOf(jwt({ exp: 1767225600 }))).toBe(1767225600000);
    expect(expiryOf(jwt({ exp: "soon" }))).toBeNull();
    expect(expiryOf("not a token")).toBeNull();
  });
  it("renews a minute before expiry, not before half the lifetime, and not within a second", () => {
    expect(renewAfterMs(0, 86_400_000)).toBe(86_340_000);
    expect(renewAfterMs(1_000, 5_000)).toBe(2_000);
    expect(renewAfterMs(0, 500)).toBe(1_000);
    expect(renewAfterMs(10_000, 5_000)).toBe(1_000); // already past: renew soon
  });
});

describe("SignalingError", () => {
  it("carries the server's code, event and room", () => {
    const error = SignalingError.from({
      code: "ERR_ROOM_TAKEN",
      message: "taken",
      room: "lobby",
      event: "room-create-request",
    });
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({
      name: "SignalingError",
      code: "ERR_ROOM_TAKEN",
      room: "lobby",
      event: "room-create-request",
    });
  });
});
