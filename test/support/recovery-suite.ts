import { afterEach } from "vitest";
import { fetchAppToken } from "./app-token";
import type { FrameClient } from "./frame-client";
import { connectPeer, type TestPeer } from "./peer";
import { type DevServer, type DevServerOptions, startDevServer } from "./wrangler-dev";

/** The app every recovery test connects to. */
export const RECOVERY_APP = "demo-chat-test";

/**
 * What the recovery test files share: servers started with a short recovery
 * window, socket.io-client peers that reconnect by themselves, and the
 * peers, raw clients and servers of a test closed after it.
 *
 * @example
 * const suite = useRecoverySuite(10_000);
 * const { server, appToken } = await suite.start({ vars: { RECOVERY_MAX_SESSIONS: "1" } });
 * const alice = await suite.peer(server, appToken, "alice", { room: "lobby" });
 */
export function useRecoverySuite(windowMs: number) {
  const peers: TestPeer[] = [];
  const clients: FrameClient[] = [];
  const servers: DevServer[] = [];
  afterEach(async () => {
    for (const peer of peers.splice(0)) peer.close();
    for (const client of clients.splice(0)) client.close();
    for (const server of servers.splice(0)) await server.stop();
  });

  /** A `wrangler dev` whose recovery window is `windowMs` unless `options.vars` says otherwise, and an app token of it. */
  async function start(options: DevServerOptions = {}) {
    const server = await startDevServer({
      ...options,
      vars: { RECOVERY_WINDOW_MS: String(windowMs), ...options.vars },
    });
    servers.push(server);
    return { server, appToken: await fetchAppToken(server.url, RECOVERY_APP) };
  }

  /** An authenticated peer: in `room`'s object if given (else seed-style), opted into recovery unless `recovery: false`. */
  async function peer(
    server: DevServer,
    appToken: string,
    name: string,
    options: { room?: string; recovery?: boolean } = {},
  ) {
    const query: Record<string, string> = {};
    if (options.room) Object.assign(query, { app: RECOVERY_APP, room: options.room });
    if (options.recovery !== false) query.recovery = "1";
    const connected = await connectPeer({ url: server.url, appToken, peerinfo: { name }, reconnection: true, query });
    peers.push(connected);
    return connected;
  }

  return { start, peer, peers, clients, servers };
}
