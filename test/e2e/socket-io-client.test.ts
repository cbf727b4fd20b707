import { io, type Socket } from "socket.io-client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ClientToServerEvents, ServerToClientEvents } from "../../src/protocol/events";
import { fetchAppToken } from "../support/app-token";
import { type DevServer, startDevServer } from "../support/wrangler-dev";

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;

// Short heartbeats, so "several intervals" take a second, not minutes.
const PING_INTERVAL_MS = 300;

describe("a stock socket.io-client against wrangler dev", () => {
  let server: DevServer;
  let token: string;
  const sockets: Client[] = [];

  const connect = (options: Parameters<typeof io>[1] = {}): Client => {
    const socket: Client = io(server.url, { transports: ["websocket"], reconnection: false, ...options });
    sockets.push(socket);
    return socket;
  };
  const once = <T>(socket: Client, event: string) =>
    new Promise<T>((resolve) => (socket as unknown as Socket).once(event, (data: T) => resolve(data)));

  beforeAll(async () => {
    server = await startDevServer({ vars: { PING_INTERVAL_MS: String(PING_INTERVAL_MS), PING_TIMEOUT_MS: "300" } });
    token = await fetchAppToken(server.url, "demo-chat-test");
  });
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.close();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("connects with the README's options and gets its socket id", async () => {
    const socket = connect({ auth: { token } });
    await once(socket, "connect");
    expect(socket.id).toMatch(/^[\w-]{20}$/);
  });

  it("sees connect_error 'Token is not valid' for a forged token", async () => {
    const [header, payload] = token.split(".");
    const forged = `${header}.${payload}.${"A".repeat(43)}`;
    const socket = connect({ auth: { token: forged } });
    const error = await once<Error & { data?: { code: string } }>(socket, "connect_error");
    expect(error.message).toBe("Token is not valid");
    expect(error.data?.code).toBe("ERR_TOKEN_BAD_SIGNATURE");
  });

  it("emits auth-request and gets auth-accept and the ack", async () => {
    const socket = connect({ auth: { token } });
    await once(socket, "connect");
    const accepted = once<{ token: string }>(socket, "auth-accept");
    const outcome = await socket.emitWithAck("auth-request", { token, peerinfo: { name: "Ann" } });
    expect(outcome).toEqual({ ok: true, data: { token: (await accepted).token } });
  });

  it("stays connected across several ping intervals", async () => {
    const socket = connect({ auth: { token } });
    await once(socket, "connect");
    let pings = 0;
    socket.io.engine.on("ping", () => pings++);
    let disconnected = false;
    socket.on("disconnect", () => {
      disconnected = true;
    });
    await new Promise((r) => setTimeout(r, PING_INTERVAL_MS * 6));
    expect(pings).toBeGreaterThanOrEqual(3);
    expect(disconnected).toBe(false);
    expect(socket.connected).toBe(true);
    // And the connection still works.
    const outcome = await socket.emitWithAck("auth-request", token);
    expect(outcome.ok).toBe(true);
  });

  it("is dropped by the server when it stops answering pings, then reconnects by itself", async () => {
    const socket = connect({ auth: { token }, reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 200 });
    await once(socket, "connect");
    const firstId = socket.id;
    // Make this engine deaf to pings: it no longer sends pongs.
    const engine = socket.io.engine as unknown as { _sendPacket: (type: string, ...rest: unknown[]) => void };
    const send = engine._sendPacket.bind(engine);
    engine._sendPacket = (type, ...rest) => {
      if (type !== "pong") send(type, ...rest);
    };
    const reason = await once<string>(socket, "disconnect");
    expect(reason).toBe("transport close");
    await once(socket, "connect");
    expect(socket.id).not.toBe(firstId);
    expect(socket.connected).toBe(true);
  });
});
