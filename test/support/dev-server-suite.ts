import { afterAll, afterEach, beforeAll } from "vitest";
import { fetchAppToken } from "./app-token";
import { FrameClient, socketUrl } from "./frame-client";
import { connectPeer, type TestPeer } from "./peer";
import { type DevServer, type DevServerOptions, startDevServer } from "./wrangler-dev";

/** The app every end-to-end suite gets its token for, unless it names another. */
export const TEST_APP = "demo-chat-test";

export interface SuitePeerOptions {
  /** Place the socket in this room's object (`query: { app, room, token }`); none: an object of its own. */
  room?: string | undefined;
  /** The app named in the query with `room` (default: the suite's app). */
  app?: string | undefined;
  /** The app token to connect and `auth-request` with (default: the suite's). */
  token?: string | undefined;
  /** The `peerinfo` of its `auth-request` (default: `{ name }`). */
  peerinfo?: unknown;
}

/** One `wrangler dev` shared by the tests of a `describe`, with its app token and the clients they open. */
export interface DevServerSuite {
  /** The running server (read it inside tests and hooks: it starts in `beforeAll`). */
  readonly server: DevServer;
  /** An app token of the suite's app, from `POST /app`. */
  readonly appToken: string;
  /** A socket.io-client peer, authenticated, closed after the test. */
  peer(name: string, options?: SuitePeerOptions): Promise<TestPeer>;
  /**
   * A raw frame client after the Engine.IO handshake (its open packet not yet
   * taken), closed after the test. `room`: in that room's object, with the
   * app token in the query. `connect`: it has sent CONNECT (`40`) too, its
   * answer not awaited. Refused upgrades reject.
   */
  raw(room?: string, options?: { connect?: boolean }): Promise<FrameClient>;
}

/**
 * Registers the hooks most end-to-end files repeat: `beforeAll` starts
 * `wrangler dev` (with `options.vars`) and gets an app token, `afterEach`
 * closes the peers and raw clients the test opened, `afterAll` stops the
 * server. Call it inside `describe`.
 *
 * @example
 * describe("floods", () => {
 *   const suite = useDevServer({ vars: { RATE_LIMIT_BURST: "40" } });
 *   it("...", async () => {
 *     const alice = await suite.peer("alice", { room: "lobby" });
 *   });
 * });
 */
export function useDevServer(options: DevServerOptions & { app?: string } = {}): DevServerSuite {
  const { app = TEST_APP, ...serverOptions } = options;
  let server: DevServer | undefined;
  let appToken: string | undefined;
  const peers: TestPeer[] = [];
  const clients: FrameClient[] = [];

  beforeAll(async () => {
    server = await startDevServer(serverOptions);
    appToken = await fetchAppToken(server.url, app);
  });
  afterEach(() => {
    for (const peer of peers.splice(0)) peer.close();
    for (const client of clients.splice(0)) client.ws.terminate();
  });
  afterAll(async () => {
    await server?.stop();
  });

  const started = () => {
    if (!server || appToken === undefined) throw new Error("the dev server has not started (read it inside a test)");
    return { server, appToken };
  };

  return {
    get server() {
      return started().server;
    },
    get appToken() {
      return started().appToken;
    },
    async peer(name, peerOptions = {}) {
      const { server, appToken } = started();
      const { room, token = appToken, peerinfo = { name } } = peerOptions;
      const connected = await connectPeer({
        url: server.url,
        appToken: token,
        peerinfo,
        ...(room ? { query: { app: peerOptions.app ?? app, room } } : {}),
      });
      peers.push(connected);
      return connected;
    },
    async raw(room, { connect = false } = {}) {
      const { server, appToken } = started();
      const query = room ? `&app=${app}&room=${encodeURIComponent(room)}&token=${appToken}` : "";
      const client = await FrameClient.open(socketUrl(server.url, query));
      clients.push(client);
      if (connect) client.send("40");
      return client;
    },
  };
}
