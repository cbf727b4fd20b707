import { describe, expect, it } from "vitest";
import { type ConnectionState, newConnection } from "../../src/signaling/connection-state";
import { applyMembership } from "../../src/signaling/membership";
import type { MembershipChange } from "../../src/signaling/room-rules";

const state = (rooms: string[], requested: string[]): ConnectionState => ({
  ...newConnection({ engineId: "e", socketId: "sock-1", openedAt: 0, app: "demo" }),
  connected: true,
  authenticated: true,
  peerinfo: { name: "me" },
  rooms,
  requested,
});

describe("applyMembership", () => {
  it.each([
    ["joined: a waiting request becomes a room", [["a"], ["lobby", "b"]], "joined", [["a", "lobby"], ["b"]]],
    ["joined twice: listed once", [["lobby", "a"], []], "joined", [["a", "lobby"], []]],
    ["left: the room goes, requests stay", [["a", "lobby"], ["b"]], "left", [["a"], ["b"]]],
    ["left a room it was not in: nothing changes", [["a"], ["lobby"]], "left", [["a"], ["lobby"]]],
    ["requested: the room waits", [["a"], ["b"]], "requested", [["a"], ["b", "lobby"]]],
    ["requested twice: listed once", [[], ["lobby", "b"]], "requested", [[], ["b", "lobby"]]],
    ["request-ended: the request goes, rooms stay", [["a"], ["lobby", "b"]], "request-ended", [["a"], ["b"]]],
  ] as Array<[string, [string[], string[]], MembershipChange, [string[], string[]]]>)(
    "%s",
    (_label, [rooms, requested], change, [wantRooms, wantRequested]) => {
      const before = state(rooms, requested);
      const after = applyMembership(before, "lobby", change);
      expect(after).toEqual({ ...before, rooms: wantRooms, requested: wantRequested });
    },
  );

  it("returns a new state and leaves the old one as it was", () => {
    const before = state(["a"], ["lobby"]);
    const copy = structuredClone(before);
    const after = applyMembership(before, "lobby", "joined");
    expect(after).not.toBe(before);
    expect(before).toEqual(copy);
  });

  it("keeps the lists bounded however often the room answers: a connection's count of rooms stays true", () => {
    let current = state([], []);
    for (let i = 0; i < 5; i++) {
      current = applyMembership(current, "lobby", "requested");
      current = applyMembership(current, "lobby", "joined");
      current = applyMembership(current, "lobby", "joined");
    }
    expect([current.rooms, current.requested]).toEqual([["lobby"], []]);
    current = applyMembership(current, "lobby", "left");
    expect([current.rooms, current.requested]).toEqual([[], []]);
  });
});
