import { beforeEach, describe, expect, it, vi } from "vitest";
import { AUDIT_INTERVAL_MS, RoomAuthority, type RoomHost } from "../../src/durable/room/room-authority";
import { Log } from "../../src/durable/runtime/log";
import type { RoomAction } from "../../src/signaling/room-rules";
import type { Peer } from "../../src/signaling/room-store";
import { MemoryRedis } from "../support/memory-redis";

const ref = { app: "demo", room: "lobby" };
const SELF = "room-object";
const peer = (id: string, home = `home-${id}`): Peer => ({ id, home, peerinfo: { name: id } });

/** A fake object around the authority: other objects answer over a fake RPC that counts its calls. */
function fakeHost(gone: Set<string>) {
  const calls = { present: 0, deliver: 0 };
  const stub = (home: string) => ({
    present: async (ids: string[]) => {
      calls.present++;
      return ids.filter((id) => !gone.has(id) && home !== "");
    },
    deliver: async (_ref: unknown, frames: Array<{ to: string }>) => {
      calls.deliver++;
      return frames.map((frame) => frame.to).filter((id) => gone.has(id));
    },
  });
  const kv = new MemoryRedis();
  const pending: Promise<unknown>[] = [];
  const host: RoomHost = {
    stubs: { get: stub },
    self: SELF,
    kv: () => kv,
    limits: () => ({ maxMembers: 3, maxPendingRequests: 8 }),
    joinRequestTimeout: () => 120_000,
    upkeepInterval: () => 60_000,
    here: { deliver: async () => [], present: (ids) => ids.filter((id) => !gone.has(id)) },
    waitUntil: (work) => void pending.push(work),
    wakeBy: async () => {},
    log: new Log(undefined, () => "room:demo/lobby"),
  };
  return { host, calls, settle: () => Promise.all(pending) };
}

describe("the room authority", () => {
  let gone: Set<string>;
  let fake: ReturnType<typeof fakeHost>;
  let room: RoomAuthority;
  let now: number;
  const act = (actor: Peer, action: RoomAction) => room.act(ref, actor, action, now);
  const create = (actor: Peer) => act(actor, { kind: "create", payload: null });
  const ask = (actor: Peer) => act(actor, { kind: "join-request", payload: null });
  const accept = (owner: Peer, candidate: Peer) =>
    act(owner, { kind: "join-answer", accept: true, candidate: candidate.id, payload: null });

  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
    now = Date.now();
    gone = new Set();
    fake = fakeHost(gone);
    room = new RoomAuthority(fake.host);
  });

  async function fullRoom(): Promise<Peer[]> {
    const members = ["ann", "bob", "cid"].map((id) => peer(id));
    const [owner, ...others] = members as [Peer, ...Peer[]];
    await create(owner);
    for (const member of others) {
      await ask(member);
      await accept(owner, member);
    }
    await fake.settle();
    return members;
  }

  it("refuses requests without asking any member's object whether it is there", async () => {
    const [owner, member] = (await fullRoom()) as [Peer, Peer];
    const before = fake.calls.present;
    for (let i = 0; i < 40; i++) {
      expect((await ask(member)).outcome).toMatchObject({ ok: false, error: { code: "ERR_ALREADY_MEMBER" } });
      expect((await create(peer(`taker-${i}`))).outcome).toMatchObject({ ok: false });
    }
    expect((await ask(owner)).outcome).toMatchObject({ ok: false });
    // One audit at most (the first "taken" refusal): one RPC to each member's object. The other
    // 79 refusals fall inside AUDIT_INTERVAL_MS or are not refusals ghosts could cause.
    expect(fake.calls.present - before).toBeLessThanOrEqual(3);
  });

  it("audits a full room at most once per interval, and frees the places of ghosts", async () => {
    await fullRoom();
    gone.add("bob");
    const dave = peer("dave");
    // The first refusal in this instance audits: bob's socket is gone, so dave's request goes through.
    expect((await ask(dave)).outcome).toMatchObject({ ok: true });
    // Ann accepts dave: the room is full again. Cid vanishes too, but within the interval
    // nobody asks again, so eve is refused without an audit.
    expect((await accept(peer("ann"), dave)).outcome).toMatchObject({ ok: true });
    gone.add("cid");
    const calls = fake.calls.present;
    expect((await ask(peer("eve"))).outcome).toMatchObject({ ok: false, error: { code: "ERR_ROOM_FULL" } });
    expect(fake.calls.present).toBe(calls);
  });

  it("frees a name held only by ghosts for a new create, after a restart", async () => {
    await create(peer("ann"));
    gone.add("ann");
    // A new instance (a runtime restart) has not audited yet.
    const restarted = new RoomAuthority(fake.host);
    const reply = await restarted.act(ref, peer("zoe"), { kind: "create", payload: null }, now);
    expect(reply.outcome).toMatchObject({ ok: true, data: { room: "lobby" } });
  });

  it("audits again once the interval has passed", async () => {
    await create(peer("ann"));
    await create(peer("x1")); // audits (first refusal)
    const calls = fake.calls.present;
    await create(peer("x2"));
    expect(fake.calls.present).toBe(calls);
    vi.advanceTimersByTime(AUDIT_INTERVAL_MS);
    now = Date.now();
    await create(peer("x3"));
    expect(fake.calls.present).toBe(calls + 1);
  });

  it("audits before an accept into a full room, so a ghost's place goes to the candidate", async () => {
    const [owner] = (await fullRoom()) as [Peer];
    // Dave asks while there is a place; by the owner's answer the room is full again.
    await act(peer("cid"), { kind: "leave", payload: null });
    const [dave, erin] = [peer("dave"), peer("erin")];
    expect((await ask(dave)).outcome).toMatchObject({ ok: true });
    await ask(erin);
    expect((await accept(owner, erin)).outcome).toMatchObject({ ok: true });
    // Bob's socket vanished: the audit before the accept frees his place for dave.
    gone.add("bob");
    vi.advanceTimersByTime(AUDIT_INTERVAL_MS);
    now = Date.now();
    expect((await accept(owner, dave)).outcome).toMatchObject({ ok: true });
  });

  it("refuses an accept into a full room of live members, telling the candidate", async () => {
    const [owner] = (await fullRoom()) as [Peer];
    await act(peer("cid"), { kind: "leave", payload: null });
    const dave = peer("dave");
    await ask(dave);
    const erin = peer("erin");
    await ask(erin);
    expect((await accept(owner, erin)).outcome).toMatchObject({ ok: true });
    const refused = await accept(owner, dave);
    expect(refused.outcome).toMatchObject({ ok: false, error: { code: "ERR_ROOM_FULL" } });
    await fake.settle();
    expect(fake.calls.deliver).toBeGreaterThan(0);
  });

  /** The room-deleted lines logged while `work` runs. */
  async function deletions(work: () => Promise<unknown>): Promise<Array<Record<string, unknown>>> {
    const printed = vi.spyOn(console, "log").mockImplementation(() => {});
    try {
      await work();
      return printed.mock.calls.map(([line]) => JSON.parse(String(line))).filter((line) => line.log === "room-deleted");
    } finally {
      printed.mockRestore();
    }
  }

  it("forgets the room when its last member leaves, logging its deletion once, with its app and age", async () => {
    const [owner, member] = [peer("ann"), peer("bob")];
    await create(owner);
    await ask(member);
    await accept(owner, member);
    now += 90_000;
    vi.setSystemTime(now);
    const lines = await deletions(async () => {
      await act(member, { kind: "leave", payload: null });
      await act(owner, { kind: "leave", payload: null });
    });
    expect(lines).toEqual([{ log: "room-deleted", object: "room:demo/lobby", app: "demo", seconds: 90 }]);
    expect(room.ref()).toBeNull();
  });

  it("forgets the room when its members' sockets are found gone, logging its deletion once", async () => {
    const members = await fullRoom();
    for (const member of members) gone.add(member.id);
    const lines = await deletions(async () => {
      await room.upkeep(now);
      await fake.settle();
      await room.upkeep(now);
    });
    expect(lines).toEqual([{ log: "room-deleted", object: "room:demo/lobby", app: "demo", seconds: 0 }]);
    expect(room.ref()).toBeNull();
  });
});
