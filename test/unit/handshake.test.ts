import { describe, expect, it } from "vitest";
import { checkHandshake } from "../../src/protocol/handshake";
import { placementFromQuery, roomObjectName } from "../../src/socket/placement";

const url = (query: string) => new URL(`http://edge.test/socket.io/?${query}`);

describe("checkHandshake", () => {
  it("serves an Engine.IO 4 websocket upgrade", () => {
    expect(checkHandshake("GET", url("EIO=4&transport=websocket"), "websocket")).toBeNull();
    expect(checkHandshake("GET", url("EIO=4&transport=websocket"), "WebSocket")).toBeNull();
  });

  it.each([
    ["polling", "GET", "EIO=4&transport=polling", null, 0],
    ["no transport", "GET", "EIO=4", null, 0],
    ["EIO=3", "GET", "EIO=3&transport=websocket", "websocket", 5],
    ["no EIO", "GET", "transport=websocket", "websocket", 5],
    ["a polling sid to upgrade", "GET", "EIO=4&transport=websocket&sid=abc", "websocket", 1],
    ["POST", "POST", "EIO=4&transport=websocket", "websocket", 2],
    ["no Upgrade header", "GET", "EIO=4&transport=websocket", null, 3],
    ["Upgrade: h2c", "GET", "EIO=4&transport=websocket", "h2c", 3],
  ])("refuses %s with engine.io code", (_label, method, query, upgrade, code) => {
    expect(checkHandshake(method, url(query), upgrade)).toMatchObject({ code, message: expect.any(String) });
  });
});

describe("placementFromQuery", () => {
  it.each([
    ["no room: an object of its own", "EIO=4", { kind: "own", app: null }],
    ["an app alone: its own object, bound to the app", "app=demo", { kind: "own", app: "demo" }],
    ["app and room: the room's object", "app=demo&room=lobby", { kind: "room", app: "demo", room: "lobby" }],
    ["a room with spaces", "app=demo&room=my%20room", { kind: "room", app: "demo", room: "my room" }],
  ])("places %s", (_label, query, placement) => {
    expect(placementFromQuery(url(query))).toEqual({ ok: true, placement });
  });

  it.each([
    ["a room without app", "room=lobby"],
    ["a bad app", "app=a/b&room=lobby"],
    ["an empty room", "app=demo&room="],
    ["a room with a newline", "app=demo&room=a%0Ab"],
    ["a 129-character room", `app=demo&room=${"r".repeat(129)}`],
  ])("refuses %s with code 3", (_label, query) => {
    expect(placementFromQuery(url(query))).toMatchObject({ ok: false, error: { code: 3, message: "Bad request" } });
  });

  it("keeps the rooms of two apps in two objects", () => {
    expect(roomObjectName("a", "lobby")).not.toBe(roomObjectName("b", "lobby"));
  });
});
