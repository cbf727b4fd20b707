import { beforeEach, describe, expect, it } from "vitest";
import {
  applyRoomAction,
  expireRequests,
  type RoomAction,
  type RoomLimits,
  type RoomResult,
  roomPeers,
} from "../../src/signaling/room-rules";
import type { Peer } from "../../src/signaling/room-store";
import { MemoryRedis } from "../support/memory-redis";

const ref = { app: "demo", room: "lobby" };
const limits: RoomLimits = { maxMembers: 4, maxPendingRequests: 2 };
const peer = (id: string, home = `home-${id}`): Peer => ({ id, home, peerinfo: { name: id } });
const [owner, bob, carol, dave] = ["owner", "bob", "carol", "dave"].map((id) => peer(id)) as [Peer, Peer, Peer, Peer];

let kv: MemoryRedis;
let clock: number;
const act = (actor: Peer, action: RoomAction, room = ref): RoomResult =>
  applyRoomAction({ kv, ref: room, limits, now: clock++ }, actor, action);
const create = (actor = owner) => act(actor, { kind: "create", payload: null });
const requestJoin = (actor: Peer, payload: unknown = null) =>
  act(actor, { kind: "join-request", payload: payload as null });
const answer = (actor: Peer, candidate: Peer, accept: boolean, payload: unknown = null) =>
  act(actor, { kind: "join-answer", accept, candidate: candidate.id, payload: payload as null });
const admit = (candidate: Peer) => {
  requestJoin(candidate);
  return answer(owner, candidate, true);
};
const relay = (from: Peer, to: string, body: unknown = { type: "offer", sdp: "v=0" }, payload: unknown = null) =>
  act(from, { kind: "relay", what: "session-description", to, body: body as null, payload: payload as null });

/** Deliveries as [receiver, event, data]. */
const sent = (result: Pick<RoomResult, "deliveries">) => result.deliveries.map((d) => [d.to.id, d.event, d.data]);

beforeEach(() => {
  kv = new MemoryRedis();
  clock = 1000;
});

describe("room-create-request", () => {
  it("creates the room, owned by the caller, who is its first member", () => {
    const result = create();
    expect(result).toEqual({
      outcome: { ok: true, data: { room: "lobby" } },
      reply: [["room-create-accept", { room: "lobby" }]],
      membership: "joined",
      deliveries: [],
    });
  });

  it("refuses a name in use with room-create-reject ERR_ROOM_TAKEN", () => {
    create();
    const result = create(bob);
    expect(result.reply).toEqual([
      ["room-create-reject", expect.objectContaining({ code: "ERR_ROOM_TAKEN", room: "lobby" })],
    ]);
    expect(result.outcome).toMatchObject({ ok: false, error: { code: "ERR_ROOM_TAKEN" } });
    expect(result.membership).toBeUndefined();
  });

  it("keeps rooms of two apps apart even with one name and one store", () => {
    create();
    expect(act(bob, { kind: "create", payload: null }, { app: "other", room: "lobby" }).outcome.ok).toBe(true);
  });
});

describe("room-join-request", () => {
  beforeEach(() => create());

  it("reaches the owner with the candidate's id, peerinfo and payload", () => {
    const result = requestJoin(bob, { user_login: "foo" });
    expect(result.outcome).toEqual({ ok: true, data: { room: "lobby" } });
    expect(result.membership).toBe("requested");
    expect(result.reply).toEqual([]);
    expect(result.deliveries).toEqual([
      {
        to: { ...owner, seq: 1 },
        event: "room-join-request",
        data: { room: "lobby", peer_id: "bob", peerinfo: { name: "bob" }, payload: { user_login: "foo" } },
      },
    ]);
  });

  it.each([
    [
      "no such room",
      () => act(bob, { kind: "join-request", payload: null }, { app: "demo", room: "nope" }),
      "ERR_ROOM_NOT_FOUND",
    ],
    ["a member asking again", () => requestJoin(owner), "ERR_ALREADY_MEMBER"],
    [
      "a second request while one waits",
      () => {
        requestJoin(bob);
        return requestJoin(bob);
      },
      "ERR_JOIN_PENDING",
    ],
    [
      "a request beyond the pending limit",
      () => {
        requestJoin(bob);
        requestJoin(carol);
        return requestJoin(dave);
      },
      "ERR_TOO_MANY_REQUESTS",
    ],
  ])("refuses %s with room-join-reject", (_label, run, code) => {
    const result = run();
    expect(result.reply).toEqual([
      ["room-join-reject", expect.objectContaining({ code, message: expect.any(String) })],
    ]);
    expect(result.deliveries).toEqual([]);
  });

  it("refuses a full room", () => {
    for (const id of ["m1", "m2", "m3"]) admit(peer(id));
    expect(requestJoin(bob).reply).toEqual([["room-join-reject", expect.objectContaining({ code: "ERR_ROOM_FULL" })]]);
  });
});

describe("room-join-accept", () => {
  beforeEach(() => {
    create();
    admit(bob);
    requestJoin(carol);
  });

  it("admits the candidate with the other members, and tells every earlier member", () => {
    const result = answer(owner, carol, true, { welcome: 1 });
    expect(result.outcome).toEqual({ ok: true, data: { room: "lobby", peer_id: "carol" } });
    expect(result.reply).toEqual([
      ["room-user-join", { room: "lobby", peer_id: "carol", peerinfo: { name: "carol" } }],
    ]);
    expect(sent(result)).toEqual([
      [
        "carol",
        "room-join-accept",
        {
          room: "lobby",
          peer_id: "carol",
          peers: ["owner", "bob"],
          peersinfo: { owner: { name: "owner" }, bob: { name: "bob" } },
          payload: { welcome: 1 },
        },
      ],
      ["bob", "room-user-join", { room: "lobby", peer_id: "carol", peerinfo: { name: "carol" } }],
    ]);
    expect(result.deliveries[0]?.membership).toBe("joined");
  });

  it.each([
    ["from a member who is not the owner", () => answer(bob, carol, true), "ERR_NOT_OWNER"],
    ["from a candidate", () => answer(carol, carol, true), "ERR_NOT_OWNER"],
    ["for a peer that asked nothing", () => answer(owner, dave, true), "ERR_NO_SUCH_REQUEST"],
    [
      "twice",
      () => {
        answer(owner, carol, true);
        return answer(owner, carol, true);
      },
      "ERR_NO_SUCH_REQUEST",
    ],
  ])("refuses an accept %s with signaling-error", (_label, run, code) => {
    const result = run();
    expect(result.reply).toEqual([["signaling-error", expect.objectContaining({ code })]]);
    expect(result.deliveries).toEqual([]);
  });

  it("refuses an accept that would pass maxMembers, though the request was made with room to spare", () => {
    // Owner and bob are in, carol waits; dave asks while there is room (limit 4), then two more are let in.
    requestJoin(dave);
    expect(answer(owner, carol, true).outcome.ok).toBe(true);
    const erin = peer("erin");
    expect(admit(erin).outcome.ok).toBe(true);
    const result = answer(owner, dave, true);
    expect(result.outcome).toMatchObject({ ok: false, error: { code: "ERR_ROOM_FULL" } });
    expect(result.reply).toEqual([["signaling-error", expect.objectContaining({ code: "ERR_ROOM_FULL" })]]);
    // Dave is told, and his request is over: he is neither a member nor waiting.
    expect(sent(result)).toEqual([
      ["dave", "room-join-reject", expect.objectContaining({ code: "ERR_ROOM_FULL", room: "lobby" })],
    ]);
    expect(result.deliveries[0]?.membership).toBe("request-ended");
    expect(roomPeers({ kv, ref }).map((p) => p.id)).toEqual(["owner", "bob", "carol", "erin"]);
  });

  it("refuses an accept in a room that does not exist", () => {
    const result = act(
      owner,
      { kind: "join-answer", accept: true, candidate: "carol", payload: null },
      { app: "demo", room: "nope" },
    );
    expect(result.reply).toEqual([["signaling-error", expect.objectContaining({ code: "ERR_ROOM_NOT_FOUND" })]]);
  });
});

describe("room-join-reject", () => {
  beforeEach(() => {
    create();
    requestJoin(carol);
  });

  it("tells the candidate, with the room and the owner's payload, and forgets the request", () => {
    const result = answer(owner, carol, false, { reason: "full" });
    expect(result.outcome.ok).toBe(true);
    expect(sent(result)).toEqual([
      [
        "carol",
        "room-join-reject",
        {
          code: "ERR_JOIN_REJECTED",
          message: "Room owner rejected your request",
          room: "lobby",
          payload: { reason: "full" },
        },
      ],
    ]);
    expect(result.deliveries[0]?.membership).toBe("request-ended");
    expect(answer(owner, carol, true).reply[0]?.[1]).toMatchObject({ code: "ERR_NO_SUCH_REQUEST" });
  });

  it("refuses a reject from anyone but the owner", () => {
    admit(bob);
    requestJoin(dave);
    expect(answer(bob, dave, false).reply).toEqual([
      ["signaling-error", expect.objectContaining({ code: "ERR_NOT_OWNER" })],
    ]);
  });
});

describe("relay-session-description and relay-ice-candidate", () => {
  beforeEach(() => {
    create();
    admit(bob);
  });

  it("delivers a session description to the receiver with the sender's id, peerinfo and payload", () => {
    const result = relay(owner, "bob", { type: "offer", sdp: "v=0" }, { n: 1 });
    expect(result.outcome).toEqual({ ok: true, data: { room: "lobby", to: "bob" } });
    expect(sent(result)).toEqual([
      [
        "bob",
        "session-description",
        {
          room: "lobby",
          peer_id: "owner",
          session_description: { type: "offer", sdp: "v=0" },
          peerinfo: { name: "owner" },
          payload: { n: 1 },
        },
      ],
    ]);
  });

  it("delivers an ICE candidate likewise", () => {
    const candidate = { candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host", sdpMLineIndex: 0 };
    const result = act(bob, { kind: "relay", what: "ice-candidate", to: "owner", body: candidate, payload: null });
    expect(sent(result)).toEqual([
      [
        "owner",
        "ice-candidate",
        { room: "lobby", peer_id: "bob", ice_candidate: candidate, peerinfo: { name: "bob" }, payload: null },
      ],
    ]);
  });

  it.each([
    ["to a peer outside the room", () => relay(owner, "carol"), "ERR_PEER_NOT_IN_ROOM"],
    [
      "to a pending candidate",
      () => {
        requestJoin(carol);
        return relay(owner, "carol");
      },
      "ERR_PEER_NOT_IN_ROOM",
    ],
    ["from a non-member", () => relay(carol, "bob"), "ERR_NOT_MEMBER"],
    ["to oneself", () => relay(bob, "bob"), "ERR_INVALID_REQUEST"],
    [
      "in a room that does not exist",
      () =>
        act(
          owner,
          { kind: "relay", what: "ice-candidate", to: "bob", body: {}, payload: null },
          { app: "demo", room: "x" },
        ),
      "ERR_ROOM_NOT_FOUND",
    ],
    [
      "across apps",
      () =>
        act(
          owner,
          { kind: "relay", what: "ice-candidate", to: "bob", body: {}, payload: null },
          { app: "other", room: "lobby" },
        ),
      "ERR_ROOM_NOT_FOUND",
    ],
  ])("refuses a relay %s, delivering nothing", (_label, run, code) => {
    const result = run();
    expect(result.reply).toEqual([["signaling-error", expect.objectContaining({ code })]]);
    expect(result.deliveries).toEqual([]);
  });
});

describe("leaving", () => {
  beforeEach(() => {
    create();
    admit(bob);
    admit(carol);
  });

  it("tells the others with the leaver's peerinfo", () => {
    const result = act(carol, { kind: "leave", payload: null });
    expect(result.outcome).toEqual({ ok: true, data: { room: "lobby" } });
    expect(result.membership).toBe("left");
    expect(sent(result)).toEqual([
      ["owner", "room-user-leave", { room: "lobby", peer_id: "carol", peerinfo: { name: "carol" } }],
      ["bob", "room-user-leave", { room: "lobby", peer_id: "carol", peerinfo: { name: "carol" } }],
    ]);
  });

  it("hands the room to the earliest member when the owner leaves, and announces it", () => {
    const result = act(owner, { kind: "leave", payload: null });
    const change = { room: "lobby", peer_id: "bob", peerinfo: { name: "bob" } };
    expect(sent(result)).toEqual([
      ["bob", "room-user-leave", { room: "lobby", peer_id: "owner", peerinfo: { name: "owner" } }],
      ["carol", "room-user-leave", { room: "lobby", peer_id: "owner", peerinfo: { name: "owner" } }],
      ["bob", "room-owner-change", change],
      ["carol", "room-owner-change", change],
    ]);
    // The new owner now answers requests; the old one cannot.
    requestJoin(dave);
    expect(answer(owner, dave, true).reply[0]?.[1]).toMatchObject({ code: "ERR_NOT_OWNER" });
    expect(answer(bob, dave, true).outcome.ok).toBe(true);
  });

  it("passes pending requests to the new owner, so none waits forever", () => {
    requestJoin(dave, { hi: 1 });
    const result = act(owner, { kind: "leave", payload: null });
    expect(sent(result)).toContainEqual([
      "bob",
      "room-join-request",
      { room: "lobby", peer_id: "dave", peerinfo: { name: "dave" }, payload: { hi: 1 } },
    ]);
  });

  it("deletes the room with its last member, frees the name, and turns away waiting candidates", () => {
    requestJoin(dave);
    act(bob, { kind: "leave", payload: null });
    act(carol, { kind: "leave", payload: null });
    const result = act(owner, { kind: "leave", payload: null });
    expect(sent(result)).toEqual([
      ["dave", "room-join-reject", expect.objectContaining({ code: "ERR_ROOM_CLOSED", room: "lobby" })],
    ]);
    expect(result.deliveries[0]?.membership).toBe("request-ended");
    expect(kv.hlen(`room:${JSON.stringify(["demo", "lobby"])}:pending`)).toBe(0);
    expect(create(dave).outcome.ok).toBe(true);
  });

  it("refuses a leave from a non-member", () => {
    expect(act(dave, { kind: "leave", payload: null }).reply).toEqual([
      ["signaling-error", expect.objectContaining({ code: "ERR_NOT_MEMBER" })],
    ]);
  });

  it("withdraws a pending request when the candidate leaves or drops", () => {
    requestJoin(dave);
    expect(act(dave, { kind: "drop" })).toMatchObject({
      outcome: { ok: true },
      membership: "request-ended",
      deliveries: [],
    });
    expect(answer(owner, dave, true).reply[0]?.[1]).toMatchObject({ code: "ERR_NO_SUCH_REQUEST" });
  });

  it("lets a dropped member go like a leaving one", () => {
    const result = act(carol, { kind: "drop" });
    expect(sent(result).map(([to, event]) => [to, event])).toEqual([
      ["owner", "room-user-leave"],
      ["bob", "room-user-leave"],
    ]);
  });

  it("answers a drop for a stranger quietly", () => {
    expect(act(dave, { kind: "drop" })).toMatchObject({ outcome: { ok: true }, reply: [], deliveries: [] });
  });
});

describe("join requests that wait too long", () => {
  beforeEach(() => create());

  it("are turned away with ERR_JOIN_TIMEOUT once the timeout passes, and not before", () => {
    clock = 10_000;
    requestJoin(bob); // at 10000
    clock = 15_000;
    requestJoin(carol); // at 15000
    const early = expireRequests({ kv, ref, limits, now: 69_999 }, 60_000);
    expect(early).toEqual({ deliveries: [], nextExpiry: 70_000 });

    const due = expireRequests({ kv, ref, limits, now: 70_000 }, 60_000);
    expect(sent(due)).toEqual([
      ["bob", "room-join-reject", expect.objectContaining({ code: "ERR_JOIN_TIMEOUT", room: "lobby" })],
    ]);
    expect(due.deliveries[0]?.membership).toBe("request-ended");
    expect(due.nextExpiry).toBe(75_000);
    // Bob's request is gone; Carol's still waits.
    expect(answer(owner, bob, true).reply[0]?.[1]).toMatchObject({ code: "ERR_NO_SUCH_REQUEST" });
    expect(answer(owner, carol, true).outcome.ok).toBe(true);
  });

  it("lists members and candidates for the audit of vanished sockets", () => {
    admit(bob);
    requestJoin(carol);
    expect(roomPeers({ kv, ref }).map((p) => p.id)).toEqual(["owner", "bob", "carol"]);
  });
});

describe("rehome (a recovered session's socket moved)", () => {
  it("tells a recovered owner again of the join requests it was not told of, if they still wait", () => {
    create();
    requestJoin(bob);
    requestJoin(carol);
    answer(owner, carol, false);
    const moved = { ...owner, home: "home-new" };
    const result = act(moved, { kind: "rehome", notices: [bob.id, carol.id] });
    expect(result.outcome.ok).toBe(true);
    // Carol's request was answered meanwhile: only bob's is told, to the owner's new home.
    expect(sent(result)).toEqual([
      ["owner", "room-join-request", expect.objectContaining({ room: "lobby", peer_id: "bob" })],
    ]);
    expect(result.deliveries[0]?.to.home).toBe("home-new");
  });

  it("tells nothing to a member that is not the owner, nor without notices", () => {
    create();
    admit(bob);
    requestJoin(carol);
    expect(sent(act(bob, { kind: "rehome", notices: [carol.id] }))).toEqual([]);
    expect(sent(act(owner, { kind: "rehome" }))).toEqual([]);
  });
});
