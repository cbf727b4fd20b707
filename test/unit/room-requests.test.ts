import { describe, expect, it, vi } from "vitest";
import { signSessionToken, verifySessionToken } from "../../src/auth/tokens";
import { type ConnectionState, newConnection } from "../../src/signaling/connection-state";
import type { RoomReply, RoomRequestServices } from "../../src/signaling/room-requests";
import { roomRequest } from "../../src/signaling/room-requests";

const secret = "room-requests-test-secret-0123456789ab";
const t0 = new Date("2026-03-01T00:00:00Z");
const me: ConnectionState = {
  ...newConnection({ engineId: "e", socketId: "sock-me", openedAt: 0, app: "demo" }),
  connected: true,
  authenticated: true,
  peerinfo: { name: "me" },
};
const session = (binding = { app: "demo", connection: "sock-me" }, lifetimeSeconds = 60, now = t0) =>
  signSessionToken(secret, { ...binding, lifetimeSeconds }, now);

function services(reply: RoomReply = { outcome: { ok: true, data: {} }, reply: [] }, now = t0) {
  const request = vi.fn(async () => reply);
  const value: RoomRequestServices = {
    verifySessionToken: async (token, binding) => {
      await verifySessionToken(secret, token, binding, now);
    },
    rooms: { request },
    home: "home-1",
    maxPayloadBytes: 64,
    maxRoomsPerSocket: 2,
    newRoomName: () => "generated-uuid",
  };
  return { value, request };
}

describe("session tokens on room requests", () => {
  it.each([
    // ERR_TOKEN_MISSING, as the handshake answers a room named without a token.
    ["a missing auth", async () => undefined, "ERR_TOKEN_MISSING"],
    ["an empty auth", async () => "", "ERR_TOKEN_MISSING"],
    ["an auth that is not a string", async () => 42, "ERR_TOKEN_MALFORMED"],
    [
      "a forged token",
      async () =>
        signSessionToken(
          "forger-secret-forger-secret-0123456",
          { app: "demo", connection: "sock-me", lifetimeSeconds: 60 },
          t0,
        ),
      "ERR_TOKEN_BAD_SIGNATURE",
    ],
    ["an expired token", async () => session(undefined, 60, new Date(t0.getTime() - 61_000)), "ERR_TOKEN_EXPIRED"],
    ["a token of another app", async () => session({ app: "other", connection: "sock-me" }), "ERR_TOKEN_WRONG_APP"],
    [
      "a token of another connection",
      async () => session({ app: "demo", connection: "sock-other" }),
      "ERR_TOKEN_WRONG_CONNECTION",
    ],
  ])("answer %s with unauthorized and do nothing else", async (_label, token, code) => {
    const { value, request } = services();
    const result = await roomRequest(me, "room-join-request", [{ auth: await token(), room: "lobby" }], value);
    expect(result.emit).toEqual([["unauthorized", { code, message: "Token is not valid" }]]);
    expect(result.outcome).toMatchObject({ ok: false, error: { code } });
    expect(result.update).toBeUndefined();
    expect(request).not.toHaveBeenCalled();
  });

  it("refuses a connection that never passed auth-request, whatever token it shows, and never asks the room", async () => {
    const { value, request } = services();
    const stranger = { ...me, app: null, authenticated: false };
    const result = await roomRequest(stranger, "room-create-request", [{ auth: await session() }], value);
    expect(result.emit).toEqual([["unauthorized", { code: "ERR_TOKEN_WRONG_APP", message: "Token is not valid" }]]);
    expect(result.update).toBeUndefined();
    expect(request).not.toHaveBeenCalled();
  });
});

describe("validation", () => {
  it.each([
    ["room-create-request", { room: 5 }, "room-create-reject"],
    ["room-join-request", {}, "room-join-reject"],
    ["room-join-request", { room: "" }, "room-join-reject"],
    ["room-join-accept", { room: "lobby" }, "signaling-error"],
    ["room-join-accept", { room: "lobby", peer_id: "a", to: "b" }, "signaling-error"],
    ["room-leave-request", { room: ["lobby"] }, "signaling-error"],
    ["relay-session-description", { room: "lobby", to: "x" }, "signaling-error"],
    ["relay-ice-candidate", { room: "lobby", ice_candidate: {} }, "signaling-error"],
  ] as const)("refuses a malformed %s %j with %s ERR_INVALID_REQUEST", async (event, fields, refusalEvent) => {
    const { value, request } = services();
    const result = await roomRequest(me, event, [{ auth: await session(), ...fields }], value);
    expect(result.emit).toEqual([
      [refusalEvent, expect.objectContaining({ code: "ERR_INVALID_REQUEST", message: expect.any(String) })],
    ]);
    if (refusalEvent === "signaling-error") expect(result.emit[0]?.[1]).toMatchObject({ event });
    expect(request).not.toHaveBeenCalled();
  });

  it("refuses a payload over the limit, delivering nothing", async () => {
    const { value, request } = services();
    const result = await roomRequest(
      me,
      "room-join-request",
      [{ auth: await session(), room: "lobby", payload: "x".repeat(100) }],
      value,
    );
    expect(result.emit).toEqual([["room-join-reject", expect.objectContaining({ code: "ERR_PAYLOAD_TOO_LARGE" })]]);
    expect(request).not.toHaveBeenCalled();
  });

  it("refuses a new room beyond the per-connection limit", async () => {
    const { value, request } = services();
    const busy = { ...me, rooms: ["a"], requested: ["b"] };
    const result = await roomRequest(busy, "room-create-request", [{ auth: await session(), room: "c" }], value);
    expect(result.emit).toEqual([["room-create-reject", expect.objectContaining({ code: "ERR_TOO_MANY_ROOMS" })]]);
    expect(request).not.toHaveBeenCalled();
  });
});

describe("handing requests to the room", () => {
  it("passes the room, the actor and the action, and records the membership change", async () => {
    const reply: RoomReply = {
      outcome: { ok: true, data: { room: "lobby" } },
      reply: [["room-create-accept", { room: "lobby" }]],
      membership: "joined",
    };
    const { value, request } = services(reply);
    const result = await roomRequest(
      me,
      "room-create-request",
      [{ auth: await session(), room: "lobby", payload: { a: 1 } }],
      value,
    );
    expect(request).toHaveBeenCalledWith(
      { app: "demo", room: "lobby" },
      { id: "sock-me", home: "home-1", peerinfo: { name: "me" } },
      { kind: "create", payload: { a: 1 } },
      {},
    );
    expect(result.emit).toEqual([["room-create-accept", { room: "lobby" }]]);
    expect(result.outcome).toEqual(reply.outcome);
    expect(result.update?.(me).rooms).toEqual(["lobby"]);
  });

  it("names a room created without a name", async () => {
    const { value, request } = services();
    await roomRequest(me, "room-create-request", [{ auth: await session() }], value);
    expect(request).toHaveBeenCalledWith(
      { app: "demo", room: "generated-uuid" },
      expect.anything(),
      expect.anything(),
      {},
    );
  });

  it.each([
    [
      "room-join-accept",
      { peer_id: "cand", to: "cand" },
      { kind: "join-answer", accept: true, candidate: "cand", payload: null },
    ],
    ["room-join-reject", { peer_id: "cand" }, { kind: "join-answer", accept: false, candidate: "cand", payload: null }],
    ["room-leave-request", {}, { kind: "leave", payload: null }],
    [
      "relay-session-description",
      { to: "p2", peer_id: "p2", session_description: { type: "offer", sdp: "v=0" } },
      { kind: "relay", what: "session-description", to: "p2", body: { type: "offer", sdp: "v=0" }, payload: null },
    ],
    [
      "relay-ice-candidate",
      { to: "p2", ice_candidate: { candidate: "c", sdpMLineIndex: 0 }, payload: 7 },
      { kind: "relay", what: "ice-candidate", to: "p2", body: { candidate: "c", sdpMLineIndex: 0 }, payload: 7 },
    ],
  ] as const)("turns %s into its action", async (event, fields, action) => {
    const { value, request } = services();
    await roomRequest(me, event, [{ auth: await session(), room: "lobby", ...fields }], value);
    expect(request).toHaveBeenCalledWith({ app: "demo", room: "lobby" }, expect.anything(), action, {});
  });

  it("says when the client waits on the request's outcome (it asked for an ack)", async () => {
    const { value, request } = services();
    const relay = { to: "p2", peer_id: "p2", ice_candidate: { candidate: "c" } };
    await roomRequest(me, "relay-ice-candidate", [{ auth: await session(), room: "lobby", ...relay }], value, {
      awaited: true,
    });
    expect(request).toHaveBeenCalledWith(expect.anything(), expect.anything(), expect.anything(), { awaited: true });
  });

  it("names the request in a signaling-error from the room", async () => {
    const reply: RoomReply = {
      outcome: { ok: false, error: { code: "ERR_NOT_OWNER", message: "m" } },
      reply: [["signaling-error", { code: "ERR_NOT_OWNER", message: "m", room: "lobby" }]],
    };
    const { value } = services(reply);
    const result = await roomRequest(
      me,
      "room-join-accept",
      [{ auth: await session(), room: "lobby", peer_id: "c" }],
      value,
    );
    expect(result.emit).toEqual([
      ["signaling-error", { code: "ERR_NOT_OWNER", message: "m", room: "lobby", event: "room-join-accept" }],
    ]);
  });
});
