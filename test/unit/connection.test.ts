import { describe, expect, it, vi } from "vitest";
import { TokenError } from "../../src/auth/token-error";
import { signAppToken, signSessionToken, verifyAppToken } from "../../src/auth/tokens";
import { SOCKET_DEFAULTS } from "../../src/config";
import { type ConnectionState, newConnection } from "../../src/signaling/connection-state";
import { routeEvent } from "../../src/signaling/router";
import { type ConnectionContext, handleFrame } from "../../src/socket/connection";

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

  it("answers a second CONNECT with the same sid and pid, changing nothing (one socket, one session)", async () => {
    const newPid = () => "another-pid";
    const state = { ...connected("demo"), recovery: true, pid: "the-pid" };
    const token = await signAppToken(secret, "demo");
    const result = await handleFrame(state, `40${JSON.stringify({ token })}`, context({ newPid }));
    expect(result.send).toEqual(['40{"sid":"s1","pid":"the-pid"}']);
    expect(result.update).toBeUndefined();
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

describe("handleFrame: malformed Socket.IO packets (issue #12)", () => {
  it.each([
    ["an EVENT without payload", "42", "ERR_INVALID_PACKET"],
    ["an EVENT without payload but with an ack id", "427", "ERR_INVALID_PACKET"],
    ["an EVENT of an empty array", "42[]", "ERR_INVALID_PACKET"],
    ["an EVENT of an object", "42{}", "ERR_INVALID_PACKET"],
    ["an EVENT of another namespace without payload", "42/x,", "ERR_INVALID_PACKET"],
    ["an empty Socket.IO packet", "4", "ERR_INVALID_PACKET"],
    ["a CONNECT with garbage", "40x", "ERR_INVALID_PACKET"],
    ["an EVENT named by a number", "42[1]", "ERR_UNKNOWN_EVENT"],
  ])("answers %s (%j) with a signaling-error and keeps the socket", async (_label, frame, code) => {
    const result = await handleFrame(connected(), frame, context());
    expect(result.close).toBeUndefined();
    expect(result.update).toBeUndefined();
    expect(packets(result.send)).toEqual([{ type: "2", data: ["signaling-error", expect.objectContaining({ code })] }]);
    expect(result.refused).toMatchObject({ code });
  });

  it("ignores a DISCONNECT from a namespace it never served", async () => {
    expect(await handleFrame(connected(), "41/x,", context())).toEqual({ send: [] });
  });
});

describe("handleFrame: requests nested too deeply (issue #12)", () => {
  // JSON text, not values: serializing 5,000 levels overflows the stack of a test worker.
  const nest = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;
  const relay = (extra: string) => `{"auth":"t","room":"lobby","to":"p2","ice_candidate":{"candidate":"c"}${extra}}`;

  it.each([
    // Built in the test: a table row nested 5,000 deep overflows vitest's formatting of it.
    ["relay-ice-candidate", "signaling-error", () => relay(`,"payload":${nest(5_000)}`)],
    ["relay-session-description", "signaling-error", () => relay(`,"session_description":${nest(40)}`)],
    ["room-create-request", "room-create-reject", () => `{"auth":"t","room":"r","payload":${nest(33)}}`],
    ["room-join-request", "room-join-reject", () => `{"auth":"t","room":"r","payload":${nest(100)}}`],
    ["auth-request", "auth-reject", () => `{"token":"t","peerinfo":${nest(5_000)}}`],
    ["no-such-event", "signaling-error", () => nest(5_000)],
  ])(
    "refuses a %s before it is routed, as %s ERR_INVALID_REQUEST, answering the ack",
    async (event, refusalEvent, request) => {
      const handleEvent = vi.fn(async () => {
        throw new Error("must not be routed");
      });
      const frame = `429["${event}",${request()}]`;
      const result = await handleFrame(connected(), frame, context({ handleEvent, maxPayload: 100_000 }));
      expect(handleEvent).not.toHaveBeenCalled();
      expect(result.close).toBeUndefined();
      const error = { code: "ERR_INVALID_REQUEST", message: expect.stringContaining("nested too deeply") };
      expect(packets(result.send)).toEqual([
        { type: "2", data: [refusalEvent, refusalEvent === "signaling-error" ? { ...error, event } : error] },
        { type: "3", data: [{ ok: false, error }] },
      ]);
      expect(result.refused).toEqual({ event, code: "ERR_INVALID_REQUEST" });
    },
  );

  it("refuses a 1 MB frame of brackets without a stack overflow", async () => {
    const depth = (SOCKET_DEFAULTS.maxFrameBytes - 200) / 2;
    const request = `{"auth":"t","room":"r","to":"p2","ice_candidate":{},"payload":${"[".repeat(depth)}${"]".repeat(depth)}}`;
    const frame = `42["relay-ice-candidate",${request}]`;
    const result = await handleFrame(connected(), frame, context({ maxPayload: SOCKET_DEFAULTS.maxFrameBytes }));
    expect(result.close).toBeUndefined();
    expect(result.refused).toEqual({ event: "relay-ice-candidate", code: "ERR_INVALID_REQUEST" });
  });

  it("routes a request nested 32 levels deep", async () => {
    const handleEvent = vi.fn(context().handleEvent);
    const frame = `42["relay-ice-candidate",${relay(`,"payload":${nest(31)}`)}]`;
    await handleFrame(connected(), frame, context({ handleEvent }));
    expect(handleEvent).toHaveBeenCalledOnce();
  });

  it("tells the event's handler whether the client waits on an ack", async () => {
    const handleEvent = vi.fn(context().handleEvent);
    await handleFrame(connected(), `42["relay-ice-candidate",${relay("")}]`, context({ handleEvent }));
    await handleFrame(connected(), `427["relay-ice-candidate",${relay("")}]`, context({ handleEvent }));
    expect(handleEvent.mock.calls.map(([, event]) => event.awaited)).toEqual([false, true]);
  });
});

describe("handleFrame: frames under Socket.IO's 1 MB are read and answered (issue #12)", () => {
  const defaults = (overrides: Partial<ConnectionContext> = {}) =>
    context({
      maxPayload: SOCKET_DEFAULTS.maxFrameBytes,
      handleEvent: (state, event) =>
        routeEvent(state, event, {
          maxPeerinfoBytes: SOCKET_DEFAULTS.maxPeerinfoBytes,
          maxPayloadBytes: SOCKET_DEFAULTS.maxPayloadBytes,
          maxRoomsPerSocket: SOCKET_DEFAULTS.maxRoomsPerSocket,
          home: "home",
          newRoomName: () => "generated",
          verifySessionToken: async () => {},
          rooms: {
            request: async () => {
              throw new Error("an oversized payload must not reach the room");
            },
          },
          verifyAppToken: (token) => verifyAppToken(secret, token),
          signSessionToken: (binding) => signSessionToken(secret, { ...binding, lifetimeSeconds: 60 }),
        }),
      ...overrides,
    });
  const authed = (): ConnectionState => ({ ...connected("demo"), authenticated: true });

  it.each([
    ["64 KiB", 65_536],
    ["100 KB", 100_000],
    ["900 KB", 900_000],
  ])("answers a room-create-request with a %s payload ERR_PAYLOAD_TOO_LARGE, socket open", async (_label, size) => {
    const frame = `421${JSON.stringify(["room-create-request", { auth: "t", room: "big", payload: "é".repeat(size / 2) }])}`;
    const result = await handleFrame(authed(), frame, defaults());
    expect(result.close).toBeUndefined();
    expect(packets(result.send)).toEqual([
      { type: "2", data: ["room-create-reject", expect.objectContaining({ code: "ERR_PAYLOAD_TOO_LARGE" })] },
      { type: "3", data: [{ ok: false, error: expect.objectContaining({ code: "ERR_PAYLOAD_TOO_LARGE" }) }] },
    ]);
  });

  it("answers an auth-request with a 100 KB peerinfo with auth-reject, socket open", async () => {
    const token = await signAppToken(secret, "demo");
    const frame = `42${JSON.stringify(["auth-request", { token, peerinfo: { bio: "x".repeat(100_000) } }])}`;
    const result = await handleFrame(connected(), frame, defaults());
    expect(result.close).toBeUndefined();
    expect(packets(result.send)).toEqual([
      { type: "2", data: ["auth-reject", expect.objectContaining({ code: "ERR_INVALID_REQUEST" })] },
    ]);
  });

  it("still closes a frame over the limit with 1009", async () => {
    const frame = `42["x","${"a".repeat(SOCKET_DEFAULTS.maxFrameBytes)}"]`;
    expect(await handleFrame(authed(), frame, defaults())).toMatchObject({ send: [], close: { code: 1009 } });
  });

  it.each([
    ["two-byte characters", "é", 2],
    ["three-byte characters", "€", 3],
    ["surrogate pairs", "😀", 4],
    ["lone surrogates (3 bytes each, as the runtime encodes them)", "\ud800", 3],
  ])("counts %s in UTF-8 at the limit", async (_label, char, bytes) => {
    const overhead = '42["x",""]'.length;
    const fits = Math.floor((1000 - overhead) / bytes);
    const under = `42["x","${char.repeat(fits)}"]`;
    const over = `42["x","${char.repeat(fits + 1)}"]`;
    expect((await handleFrame(connected(), under, context())).close).toBeUndefined();
    expect((await handleFrame(connected(), over, context())).close).toMatchObject({ code: 1009 });
  });
});
