import { describe, expect, it } from "vitest";
import { checkHandshake } from "../../src/protocol/handshake";

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
