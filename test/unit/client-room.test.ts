import { describe, expect, it, vi } from "vitest";
import { SignalingError } from "../../src/client/errors";
import type { IceServerSource } from "../../src/client/ice-servers";
import type { JoinRequest } from "../../src/client/join-request";
import type { Peer } from "../../src/client/peer";
import { Room, type RoomHost } from "../../src/client/room";
import type { Signaling } from "../../src/client/signaling";

/**
 * The room's own rules, in Node without WebRTC (`rtc: false`): who counts as returning, what a
 * leave or a lost session sends, what a lost peer becomes. The server is a fake that records
 * requests and answers them from a script.
 */
function fakeHost(answers: Record<string, Array<SignalingError | object>> = {}) {
  const requests: Array<[string, Record<string, unknown>]> = [];
  const signaling = {
    id: "me",
    async request(event: string, fields: Record<string, unknown>) {
      requests.push([event, fields]);
      const answer = answers[event]?.shift() ?? {};
      if (answer instanceof SignalingError) throw answer;
      return answer;
    },
    relay() {},
  };
  let forgotten = false;
  const host: RoomHost = {
    signaling: signaling as unknown as Signaling,
    ice: {} as IceServerSource,
    forget: () => {
      forgotten = true;
    },
  };
  return { host, requests, forgotten: () => forgotten };
}

const ann = { name: "Ann" };

/** A room with Ann (A1) in it: she joined ours (owner), or was there when we joined (member). */
function roomWithAnn(host: RoomHost, role: "owner" | "member" = "owner") {
  const room = new Room(host, "lobby", role, { rtc: false });
  if (role === "owner") room.onUserJoin({ room: "lobby", peer_id: "A1", peerinfo: ann });
  else room.joined({ room: "lobby", peer_id: "me", peers: ["A1"], peersinfo: { A1: ann }, payload: null });
  return { room, peer: room.peers.get("A1") as Peer };
}

describe("Room (the client library's rules, without WebRTC)", () => {
  it("calls a join request returning only for the id a peer of the call announced, with that peer's peerinfo", () => {
    const { host } = fakeHost();
    const { room, peer } = roomWithAnn(host);
    const requests: JoinRequest[] = [];
    room.on("join-request", (request) => requests.push(request));
    room.onNote(peer, { type: "back", peer_id: "A2" });
    room.onJoinRequest({ room: "lobby", peer_id: "A2", peerinfo: ann, payload: null });
    room.onJoinRequest({ room: "lobby", peer_id: "A2", peerinfo: { name: "Mallory" }, payload: null });
    room.onJoinRequest({ room: "lobby", peer_id: "Z9", peerinfo: ann, payload: null });
    expect(requests.map((r) => [r.peerId, r.returning])).toEqual([
      ["A2", true],
      ["A2", false],
      ["Z9", false],
    ]);
  });

  it("waits for an away peer's back note before calling a join request with its peerinfo new", () => {
    vi.useFakeTimers();
    try {
      const { host } = fakeHost();
      const { room, peer } = roomWithAnn(host);
      peer.setAway(true); // Ann lost the server; her media still flows
      const requests: JoinRequest[] = [];
      room.on("join-request", (request) => requests.push(request));
      // Her join request under a new id came through the server before her note over the media link.
      room.onJoinRequest({ room: "lobby", peer_id: "A2", peerinfo: ann, payload: null });
      expect(requests).toEqual([]);
      room.onNote(peer, { type: "back", peer_id: "A2" });
      expect(requests.map((r) => [r.peerId, r.returning])).toEqual([["A2", true]]);
      // Someone else with her peerinfo and no note: asked about as new once the wait is over.
      room.onJoinRequest({ room: "lobby", peer_id: "Z9", peerinfo: ann, payload: null });
      vi.advanceTimersByTime(2_999);
      expect(requests).toHaveLength(1);
      vi.advanceTimersByTime(1);
      expect(requests.map((r) => [r.peerId, r.returning])).toEqual([
        ["A2", true],
        ["Z9", false],
      ]);
      // A stranger's request does not wait.
      room.onJoinRequest({ room: "lobby", peer_id: "M1", peerinfo: { name: "Mallory" }, payload: null });
      expect(requests).toHaveLength(3);
    } finally {
      vi.useRealTimers();
    }
  });

  it("keeps a returning peer's object (and its connection) under the new id, and tells it so", () => {
    const { host } = fakeHost();
    const { room, peer } = roomWithAnn(host);
    const seen: string[] = [];
    room.on("peer", (p) => seen.push(`peer ${p.id}`));
    peer.on("back", (id) => seen.push(`back ${id}`));
    room.onNote(peer, { type: "back", peer_id: "A2" });
    room.onUserJoin({ room: "lobby", peer_id: "A2", peerinfo: ann });
    expect([...room.peers.keys()]).toEqual(["A2"]);
    expect(room.peers.get("A2")).toBe(peer);
    expect(seen).toEqual(["back A2"]);
  });

  it("does not rename a peer for a newcomer whose peerinfo differs: that is someone else", () => {
    const { host } = fakeHost();
    const { room, peer } = roomWithAnn(host);
    room.onNote(peer, { type: "back", peer_id: "A2" });
    room.onUserJoin({ room: "lobby", peer_id: "A2", peerinfo: { name: "Mallory" } });
    expect([...room.peers.keys()].sort()).toEqual(["A1", "A2"]);
    expect(room.peers.get("A2")).not.toBe(peer);
  });

  it("lets a peer without media go at once when the server says it left", () => {
    const { host } = fakeHost();
    const { room, peer } = roomWithAnn(host);
    const left: string[] = [];
    room.on("peer-left", (p) => left.push(p.id));
    room.onUserLeave({ room: "lobby", peer_id: "A1", peerinfo: ann });
    expect(left).toEqual(["A1"]);
    expect(peer.closed).toBe(true);
    expect(room.peers.size).toBe(0);
  });

  it("leaves: asks the server, stops every local track, closes its peers and forgets itself", async () => {
    const { host, requests, forgotten } = fakeHost();
    const stopped: string[] = [];
    const track = (kind: string) => ({ kind, enabled: true, readyState: "live", stop: () => stopped.push(kind) });
    const media = { getTracks: () => [track("audio"), track("video")] } as unknown as MediaStream;
    const room = new Room(host, "lobby", "owner", { rtc: false, media });
    room.joined({ room: "lobby", peer_id: "me", peers: ["A1"], peersinfo: { A1: ann }, payload: null });
    const peer = room.peers.get("A1") as Peer;
    const ended: Array<SignalingError | null> = [];
    room.on("left", (error) => ended.push(error));
    await room.leave();
    expect(requests).toEqual([["room-leave-request", { room: "lobby" }]]);
    expect(stopped.sort()).toEqual(["audio", "audio", "video", "video"]); // the room's list and the stream's
    expect(peer.closed).toBe(true);
    expect(room.role).toBe("left");
    expect(ended).toEqual([null]);
    expect(forgotten()).toBe(true);
  });

  it("comes back as owner after a lost session: creates the room again, or asks whoever took it", async () => {
    const { host, requests } = fakeHost({
      "room-create-request": [new SignalingError("ERR_ROOM_TAKEN", "taken")],
    });
    const { room, peer } = roomWithAnn(host, "owner");
    const notes: unknown[] = [];
    peer.note = (note) => notes.push(note);
    await room.onNewSession("me2");
    expect(notes).toEqual([{ type: "back", peer_id: "me2" }]);
    expect(requests.map(([event]) => event)).toEqual(["room-create-request", "room-join-request"]);
    expect(room.role).toBe("asking");
  });

  it("comes back as member: asks again, or takes the room if it is gone; gives up on a refusal", async () => {
    const gone = fakeHost({ "room-join-request": [new SignalingError("ERR_ROOM_NOT_FOUND", "gone")] });
    const { room } = roomWithAnn(gone.host, "member");
    await room.onNewSession("me2");
    expect(gone.requests.map(([event]) => event)).toEqual(["room-join-request", "room-create-request"]);
    expect(room.role).toBe("owner");

    const full = fakeHost({ "room-join-request": [new SignalingError("ERR_ROOM_FULL", "full")] });
    const second = roomWithAnn(full.host, "member").room;
    const ended: Array<string | undefined> = [];
    second.on("left", (error) => ended.push(error?.code));
    await second.onNewSession("me2");
    expect(full.requests.map(([event]) => event)).toEqual(["room-join-request"]);
    expect(ended).toEqual(["ERR_ROOM_FULL"]);
  });

  it("reports a relayed description or candidate that is not one, and goes on", () => {
    const { host } = fakeHost();
    const { room } = roomWithAnn(host);
    const errors: string[] = [];
    room.on("error", (error) => errors.push((error as SignalingError).code));
    room.onDescription({ room: "lobby", peer_id: "A1", session_description: "hello", peerinfo: ann, payload: null });
    room.onCandidate({ room: "lobby", peer_id: "A1", ice_candidate: { candidate: 7 }, peerinfo: ann, payload: null });
    expect(errors).toEqual(["ERR_INVALID_REQUEST", "ERR_INVALID_REQUEST"]);
    expect([...room.peers.keys()]).toEqual(["A1"]);
  });
});
