import { describe, expect, it } from "vitest";
import { HeartbeatSweep } from "../../src/durable/sockets/heartbeat-sweep";
import type { HeldSockets } from "../../src/durable/sockets/held-sockets";
import { type ConnectionState, newConnection } from "../../src/signaling/connection-state";
import { CLOSE_AUTH_TIMEOUT } from "../../src/socket/auth-deadline";
import { CLOSE_PING_TIMEOUT } from "../../src/socket/heartbeat";

const times = { pingInterval: 60_000, pingTimeout: 30_000, authTimeout: 30_000 };

interface FakeSocket {
  id: string;
  state: ConnectionState;
  pongAt: number | null;
  sent: string[];
}

function socket(id: string, openedAt: number, authenticated: boolean, pongAt: number | null = null): FakeSocket {
  const state = { ...newConnection({ engineId: `e-${id}`, socketId: id, openedAt, app: "demo" }), authenticated };
  return { id, state, pongAt, sent: [] };
}

/** An object holding `sockets`, with its last ping time in storage; records what the sweep does. */
function objectWith(sockets: FakeSocket[], lastPingAt: number | null) {
  const storage = new Map<string, unknown>();
  if (lastPingAt !== null) storage.set("heartbeat:lastPingAt", lastPingAt);
  const dropped: Array<[string, number]> = [];
  const ws = (s: FakeSocket) =>
    ({ send: (frame: string) => s.sent.push(frame), close: () => {} }) as unknown as WebSocket;
  const byWs = new Map(sockets.map((s) => [ws(s), s]));
  const held = {
    all: () => [...byWs.keys()],
    tagOf: (w: WebSocket) => byWs.get(w)?.id,
    state: (w: WebSocket) => byWs.get(w)?.state ?? null,
    closedHere: () => false,
  } as unknown as HeldSockets;
  const sweep = new HeartbeatSweep({
    storage: {
      get: async (key: string) => storage.get(key),
      put: async (key: string, value: unknown) => void storage.set(key, value),
      delete: async (key: string) => storage.delete(key),
    } as unknown as DurableObjectStorage,
    held,
    autoPongAt: (w) => byWs.get(w)?.pongAt ?? null,
    drop: async (_w, tag, code) => void dropped.push([tag, code]),
  });
  return { sweep, storage, dropped };
}

describe("the alarm's sweep of an object's sockets", () => {
  it("pings every live socket when a ping is due, and wakes again one interval later", async () => {
    const a = socket("a", 0, true, 50_000);
    const b = socket("b", 0, true, 50_000);
    const object = objectWith([a, b], 1_000);
    expect(await object.sweep.run(61_000, times)).toBe(121_000);
    expect([a.sent, b.sent]).toEqual([["2"], ["2"]]);
    expect(object.storage.get("heartbeat:lastPingAt")).toBe(61_000);
  });

  it("closes a socket that missed the last ping and one past its auth deadline, and keeps the rest", async () => {
    const silent = socket("silent", 0, true, 500);
    const stranger = socket("stranger", 20_000, false);
    const fine = socket("fine", 0, true, 2_000);
    const object = objectWith([silent, stranger, fine], 1_000);
    await object.sweep.run(61_000, times);
    expect(object.dropped).toEqual([
      ["silent", CLOSE_PING_TIMEOUT],
      ["stranger", CLOSE_AUTH_TIMEOUT],
    ]);
    expect(fine.sent).toEqual(["2"]);
  });

  it("an early alarm right after a ping judges no pongs, and wakes by the next auth deadline", async () => {
    const waiting = socket("waiting", 70_000, false);
    const member = socket("member", 0, true, 500);
    const object = objectWith([waiting, member], 61_000);
    // 10 s after the ping: pongs may still be on their way, nobody is pinged or closed.
    expect(await object.sweep.run(71_000, times)).toBe(100_000);
    expect(object.dropped).toEqual([]);
    expect(member.sent).toEqual([]);
  });

  it("with no socket left, schedules nothing and leaves no ping time behind", async () => {
    const object = objectWith([], 1_000);
    expect(await object.sweep.run(61_000, times)).toBeNull();
    expect(object.storage.has("heartbeat:lastPingAt")).toBe(false);
  });
});
