import { describe, expect, it, vi } from "vitest";
import { TokenError } from "../../src/auth/token-error";
import { signAppToken, signSessionToken, verifyAppToken } from "../../src/auth/tokens";
import { routeEvent } from "../../src/signaling/router";
import { type ConnectionContext, handleFrame } from "../../src/socket/connection";
import { type ConnectionState, newConnection } from "../../src/socket/connection-state";

const secret = "connection-test-secret-0123456789abcdef";
const fresh = (app: string | null = null): ConnectionState =>
  newConnection({ engineId: "e1", socketId: "s1", openedAt: 0, app });
const connected = (app: string | null = null): ConnectionState => ({ ...fresh(app), connected: true });

function context(overrides: Partial<ConnectionContext> = {}): ConnectionContext {
  return {
    maxPayload: 1000,
    now: () => 42,
    verifyAppToken: (token) => verifyAppToken(secret, token),
    handleEvent: (state, event) =>
      routeEvent(state, event, {
        maxPeerinfoBytes: 100,
        maxPayloadBytes: 100,
        maxRoomsPerSocket: 4,
        home: "home",
        newRoomName: () => "generated",
        verifySessionToken: async () => {},
        rooms: {
          request: async () => {
            throw new Error("no rooms in these tests");
          },
        },
        verifyAppToken: (token) => verifyAppToken(secret, token),
        signSessionToken: (binding) => signSessionToken(secret, { ...binding, lifetimeSeconds: 60 }),
      }),
    handleDisconnect: async () => {},
    ...overrides,
  };
}

/** The Socket.IO packets inside the Engine.IO message frames the server sent. */
function packets(send: string[]): unknown[] {
  return send.map((frame) => {
    expect(frame.charAt(0)).toBe("4");
    const body = frame.slice(1);
    const json = body.replace(/^\d+/, "");
    return { type: body.charAt(0), ...(json ? { data: JSON.parse(json) } : {}) };
  });
}

describe("handleFrame: Engine.IO", () => {
  it("answers a client ping with a pong", async () => {
    expect(await handleFrame(fresh(), "2", context())).toEqual({ send: ["3"] });
  });

  it("records a pong that reaches the object", async () => {
    const result = await handleFrame(fresh(), "3", context());
    expect(result.update?.(fresh()).lastPongAt).toBe(42);
  });

  it("closes on a client close packet", async () => {
    expect((await handleFrame(fresh(), "1", context())).close).toEqual({ code: 1000, reason: "client closed" });
  });

  it("closes a frame over maxPayload with 1009, counting UTF-8 bytes", async () => {
    const ok = await handleFrame(connected(), `42["x","${"é".repeat(400)}"]`, context());
    expect(ok.close).toBeUndefined();
    const tooBig = await handleFrame(connected(), `42["x","${"é".repeat(600)}"]`, context());
    expect(tooBig).toMatchObject({ send: [], close: { code: 1009 } });
  });

  it.each([
    ["garbage", "zzz", "ERR_INVALID_PACKET"],
    ["an open packet", "0{}", "ERR_INVALID_PACKET"],
    ["a binary frame", new ArrayBuffer(8), "ERR_BINARY_NOT_SUPPORTED"],
    ["broken Socket.IO JSON", '42["x",', "ERR_INVALID_PACKET"],
    ["a binary event", '451-["x",{"_placeholder":true,"num":0}]', "ERR_BINARY_NOT_SUPPORTED"],
  ])("answers %s with a signaling-error and keeps the socket", async (_label, frame, code) => {
    const result = await handleFrame(connected(), frame, context());
    expect(result.close).toBeUndefined();
    expect(result.update).toBeUndefined();
    expect(packets(result.send)).toEqual([{ type: "2", data: ["signaling-error", expect.objectContaining({ code })] }]);
  });
});

describe("handleFrame: CONNECT", () => {
  it("accepts a CONNECT without auth and answers the socket id", async () => {
    const result = await handleFrame(fresh(), "40", context());
    expect(result.send).toEqual(['40{"sid":"s1"}']);
    expect(result.update?.(fresh())).toMatchObject({ connected: true, app: null });
  });

  it("accepts a valid app token and binds the connection to its app", async () => {
    const token = await signAppToken(secret, "demo");
    const result = await handleFrame(fresh(), `40${JSON.stringify({ token })}`, context());
    expect(result.send).toEqual(['40{"sid":"s1"}']);
    expect(result.update?.(fresh())).toMatchObject({ connected: true, app: "demo" });
  });

  it.each([
    [
      "a forged token",
      async () => signAppToken("another-secret-another-secret-0123", "demo"),
      "ERR_TOKEN_BAD_SIGNATURE",
    ],
    ["garbage", async () => "garbage", "ERR_TOKEN_MALFORMED"],
    ["a number", async () => 12, "ERR_TOKEN_MALFORMED"],
    [
      "a session token",
      async () => signSessionToken(secret, { app: "demo", connection: "s1", lifetimeSeconds: 9 }),
      "ERR_TOKEN_WRONG_TYPE",
    ],
  ])("refuses %s with CONNECT_ERROR 'Token is not valid'", async (_label, makeToken, code) => {
    const result = await handleFrame(fresh(), `40${JSON.stringify({ token: await makeToken() })}`, context());
    expect(packets(result.send)).toEqual([{ type: "4", data: { message: "Token is not valid", data: { code } } }]);
    expect(result.update).toBeUndefined();
  });

  it("refuses a token of another app than the room's", async () => {
    const token = await signAppToken(secret, "other");
    const result = await handleFrame(fresh("demo"), `40${JSON.stringify({ token })}`, context());
    expect(packets(result.send)).toEqual([
      { type: "4", data: { message: "Token is not valid", data: { code: "ERR_TOKEN_WRONG_APP" } } },
    ]);
  });

  it("refuses another namespace with CONNECT_ERROR for that namespace", async () => {
    const result = await handleFrame(fresh(), "40/admin,", context());
    expect(result.send).toEqual(['44/admin,{"message":"Invalid namespace"}']);
    expect(result.update).toBeUndefined();
  });
});

describe("handleFrame: events", () => {
  it("refuses events before CONNECT, answering the ack", async () => {
    const result = await handleFrame(fresh(), '423["auth-request","t"]', context());
    expect(packets(result.send)).toEqual([
      { type: "2", data: ["signaling-error", expect.objectContaining({ code: "ERR_NOT_CONNECTED" })] },
      { type: "3", data: [{ ok: false, error: expect.objectContaining({ code: "ERR_NOT_CONNECTED" }) }] },
    ]);
  });

  it("answers an unknown event with a signaling-error and a failed ack", async () => {
    const result = await handleFrame(connected(), '425["no-such-event",{}]', context());
    expect(packets(result.send)).toEqual([
      {
        type: "2",
        data: ["signaling-error", expect.objectContaining({ code: "ERR_UNKNOWN_EVENT", event: "no-such-event" })],
      },
      { type: "3", data: [{ ok: false, error: expect.objectContaining({ code: "ERR_UNKNOWN_EVENT" }) }] },
    ]);
  });

  it("sends no ack when none was asked", async () => {
    const result = await handleFrame(connected(), '42["no-such-event"]', context());
    expect(result.send).toHaveLength(1);
  });

  it("turns a handler's bug into ERR_INTERNAL without closing the socket", async () => {
    const spy = vi.spyOn(console, "error").mockImplementation(() => {});
    const failing = context({
      handleEvent: async () => {
        throw new Error("bug");
      },
    });
    const result = await handleFrame(connected(), '421["auth-request","t"]', failing);
    expect(result.close).toBeUndefined();
    expect(packets(result.send)).toEqual([
      { type: "2", data: ["signaling-error", expect.objectContaining({ code: "ERR_INTERNAL" })] },
      { type: "3", data: [{ ok: false, error: expect.objectContaining({ code: "ERR_INTERNAL" }) }] },
    ]);
    spy.mockRestore();
  });

  it("leaves the namespace on DISCONNECT", async () => {
    const handleDisconnect = vi.fn(async () => {});
    const result = await handleFrame(connected(), "41", context({ handleDisconnect }));
    expect(handleDisconnect).toHaveBeenCalledOnce();
    expect(result.update?.(connected()).connected).toBe(false);
  });

  it("passes a TokenError from CONNECT through only as CONNECT_ERROR", async () => {
    const throwing = context({
      verifyAppToken: async () => {
        throw new TokenError("ERR_TOKEN_EXPIRED", "x");
      },
    });
    const result = await handleFrame(fresh(), '40{"token":"t"}', throwing);
    expect(packets(result.send)).toEqual([
      { type: "4", data: { message: "Token is not valid", data: { code: "ERR_TOKEN_EXPIRED" } } },
    ]);
  });
});
