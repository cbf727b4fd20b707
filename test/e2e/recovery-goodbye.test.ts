import { io } from "socket.io-client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { fetchAppToken } from "../support/app-token";
import { setUpRoom } from "../support/call";
import { connectPeer, type TestPeer, transportOf } from "../support/peer";
import { type DevServer, startDevServer } from "../support/wrangler-dev";

const APP = "demo-chat-test";
// Long, so a session kept by mistake cannot pass for one that ended: its leave would come after the window.
const WINDOW_MS = 15_000;

/**
 * A WebSocket close with code 1000 is a goodbye by itself (docs/PROTOCOL.md,
 * "Connection state recovery"): it ends a recoverable session at once, with no
 * Socket.IO DISCONNECT (`41`) before it, as a client that just closes its
 * WebSocket sends none.
 */
describe("a recoverable session closed 1000 without a DISCONNECT", () => {
  let server: DevServer;
  let appToken: string;
  const peers: TestPeer[] = [];

  beforeAll(async () => {
    server = await startDevServer({ vars: { RECOVERY_WINDOW_MS: String(WINDOW_MS) } });
    appToken = await fetchAppToken(server.url, APP);
  });
  afterEach(() => {
    for (const peer of peers.splice(0)) peer.close();
  });
  afterAll(async () => {
    await server?.stop();
  });

  const peer = async (name: string, query: Record<string, string>) => {
    const connected = await connectPeer({ url: server.url, appToken, peerinfo: { name }, query });
    peers.push(connected);
    return connected;
  };

  it.each([
    ["a socket that named its room", true],
    ["a seed-style socket (its own object)", false],
  ])("ends at once for %s: its peer gets room-user-leave, and its pid gets a fresh session", async (_label, named) => {
    const room = `goodbye-1000-${named}`;
    const owner = await peer("owner", {});
    const leaver = await peer("leaver", { recovery: "1", ...(named ? { app: APP, room } : {}) });
    await setUpRoom(room, owner, leaver);
    // What socket.io-client would present to recover: its pid and the offset of the last event it got.
    const { _pid: pid, _lastOffset: offset } = leaver.socket as unknown as { _pid?: string; _lastOffset?: string };
    expect(pid).toEqual(expect.any(String));
    expect(offset).toEqual(expect.any(String));

    // The WebSocket closed 1000 under socket.io-client, which sends no DISCONNECT for it.
    const sent: string[] = [];
    const ws = transportOf(leaver.socket);
    const send = ws.send.bind(ws);
    ws.send = ((data: string, ...rest: unknown[]) => {
      sent.push(String(data));
      return (send as (...args: unknown[]) => void)(data, ...rest);
    }) as typeof ws.send;
    leaver.socket.io.reconnection(false);
    const closedAt = Date.now();
    ws.close(1000);
    expect(await owner.next("room-user-leave", (d) => d.peer_id === leaver.id, 5_000)).toMatchObject({
      room,
      peer_id: leaver.id,
    });
    expect(Date.now() - closedAt).toBeLessThan(WINDOW_MS / 3);
    expect(sent.filter((frame) => frame.startsWith("41"))).toEqual([]);

    // Its pid names a session that has ended: a new peer, never the old one.
    const again = io(server.url, {
      transports: ["websocket"],
      forceNew: true,
      reconnection: false,
      auth: { token: appToken, pid, offset },
      query: { recovery: "1", ...(named ? { app: APP, room, token: appToken } : {}) },
    });
    try {
      await new Promise<void>((resolve, reject) => {
        again.once("connect", () => resolve());
        again.once("connect_error", reject);
      });
      expect(again.recovered).toBe(false);
      expect(again.id).not.toBe(leaver.id);
    } finally {
      again.close();
    }
  });
});
