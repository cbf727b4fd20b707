import { createExecutionContext, env, listDurableObjectIds, runDurableObjectAlarm, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { signAppToken, signSessionToken } from "../../src/auth/tokens";
import { roomObjectName } from "../../src/socket/placement";
import worker from "../../src/worker";
import { ackOf, eventOf, openRawSocket } from "../support/raw-socket";

const secret = env.TOKEN_SECRET as string;
// Lets the runtime's clock move past PING_TIMEOUT_MS (1 ms in these tests) between two alarms.
const tick = () => new Promise((resolve) => setTimeout(resolve, 5));
const roomStub = (app: string, room: string) => env.ROOMS.get(env.ROOMS.idFromName(roomObjectName(app, room)));

describe("the Engine.IO handshake", () => {
  it("opens with sid, no upgrades and the heartbeat settings", async () => {
    const socket = await openRawSocket();
    const open = await socket.next();
    expect(open.charAt(0)).toBe("0");
    expect(JSON.parse(open.slice(1))).toEqual({
      sid: expect.stringMatching(/^[\w-]{20}$/),
      upgrades: [],
      pingInterval: 60000,
      pingTimeout: 1, // vitest.config.ts sets PING_TIMEOUT_MS=1 for the worker tests (default 30000)
      maxPayload: 1_000_000, // Socket.IO's own maxHttpBufferSize
    });
  });

  it.each([
    ["polling", "/socket.io/?EIO=4&transport=polling", {}, 0],
    ["EIO=3", "/socket.io/?EIO=3&transport=websocket", { Upgrade: "websocket" }, 5],
    ["no Upgrade header", "/socket.io/?EIO=4&transport=websocket", {}, 3],
    ["a room without app", "/socket.io/?EIO=4&transport=websocket&room=x", { Upgrade: "websocket" }, 3],
  ])("refuses %s at once with 400 { code, message }", async (_label, path, headers, code) => {
    const res = await SELF.fetch(`https://edge.test${path}`, { headers });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code, message: expect.any(String) });
  });

  // Handed to the worker's own fetch, not through SELF.fetch: the runtime's
  // fetch sends any request with `Upgrade: websocket` on as a GET (it opens a
  // WebSocket, which has no method), so neither SELF.fetch nor wrangler dev's
  // proxy lets the worker see a POST. Locally the proxy then answers the POST's
  // 101 with 500 itself ("WebSocket must be initiated with a GET request").
  it.each(["POST", "PUT", "DELETE"])("refuses a %s upgrade with 400 code 2 'Bad handshake method'", async (method) => {
    const request = new Request("https://edge.test/socket.io/?EIO=4&transport=websocket", {
      method,
      headers: { Upgrade: "websocket" },
    });
    const res = await worker.fetch(request, env, createExecutionContext());
    expect(res.webSocket).toBeNull();
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ code: 2, message: "Bad handshake method" });
  });
});

describe("a socket that names a room", () => {
  const upgrade = (query: string) =>
    SELF.fetch(`https://edge.test/socket.io/?EIO=4&transport=websocket${query}`, { headers: { Upgrade: "websocket" } });
  const roomWasWoken = async (room: string) => {
    const id = env.ROOMS.idFromName(roomObjectName("demo", room));
    return (await listDurableObjectIds(env.ROOMS)).some((each) => each.equals(id));
  };

  it.each([
    ["no token", () => Promise.resolve(""), "ERR_TOKEN_MISSING"],
    ["a forged token", () => signAppToken("forged-secret-forged-secret-012345", "demo"), "ERR_TOKEN_BAD_SIGNATURE"],
    ["another app's token", () => signAppToken(secret, "other"), "ERR_TOKEN_WRONG_APP"],
    ["garbage", () => Promise.resolve("not-a-jwt"), "ERR_TOKEN_MALFORMED"],
  ])("with %s is refused 401 by the worker, and the room's object never wakes", async (label, token, reason) => {
    const room = `stranger-${label.replaceAll(" ", "-").replace("'", "")}`;
    const value = await token();
    const res = await upgrade(`&app=demo&room=${room}${value ? `&token=${value}` : ""}`);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: 4, message: "Forbidden", reason, detail: expect.any(String) });
    expect(await roomWasWoken(room)).toBe(false);
  });

  it("with its app's token is placed in the room's object", async () => {
    const res = await upgrade(`&app=demo&room=with-token&token=${await signAppToken(secret, "demo")}`);
    expect(res.status).toBe(101);
    (res.webSocket as WebSocket).accept();
    expect(await roomWasWoken("with-token")).toBe(true);
  });
});

describe("Socket.IO CONNECT", () => {
  it("accepts a valid app token in auth", async () => {
    const socket = await openRawSocket();
    await socket.connect({ token: await signAppToken(secret, "demo") });
  });

  it("answers a forged token with CONNECT_ERROR 'Token is not valid'", async () => {
    const socket = await openRawSocket();
    await socket.next();
    socket.send(`40${JSON.stringify({ token: await signAppToken("forged-secret-forged-secret-012345", "demo") })}`);
    expect(await socket.next()).toBe('44{"message":"Token is not valid","data":{"code":"ERR_TOKEN_BAD_SIGNATURE"}}');
  });

  it("answers another namespace with CONNECT_ERROR", async () => {
    const socket = await openRawSocket();
    await socket.next();
    socket.send("40/admin,");
    expect(await socket.next()).toBe('44/admin,{"message":"Invalid namespace"}');
  });

  it("refuses, in a room's object, a token of another app", async () => {
    const socket = await openRawSocket("&app=demo&room=connect-other-app");
    await socket.next();
    socket.send(`40${JSON.stringify({ token: await signAppToken(secret, "other") })}`);
    expect(await socket.next()).toContain("ERR_TOKEN_WRONG_APP");
  });
});

describe("a connection that never passed auth-request", () => {
  it("is refused every room request, whatever token it shows, and no room's object is reached, not even to refuse", async () => {
    const before = await listDurableObjectIds(env.ROOMS);
    const socket = await openRawSocket();
    // CONNECT without a token: the connection is in its own object and knows no app.
    const sid = await socket.connect();
    const room = "never-authenticated";
    const tokens = [
      // What auth-request would have issued this very connection, minted by someone who knows the secret.
      await signSessionToken(secret, { app: "demo", connection: sid, lifetimeSeconds: 60 }),
      await signAppToken(secret, "demo"),
    ];
    const requests: Array<[string, object]> = [
      ["room-create-request", { room }],
      ["room-join-request", { room }],
      ["room-join-accept", { room, peer_id: "nobody-nobody-nobody" }],
      ["room-leave-request", { room }],
      ["relay-ice-candidate", { room, to: "nobody-nobody-nobody", ice_candidate: {} }],
    ];
    let ackId = 1;
    for (const auth of tokens) {
      for (const [event, data] of requests) {
        const frames = await socket.request(event, { auth, ...data }, ackId++);
        expect(frames).toHaveLength(2);
        expect(eventOf(frames[0] as string)).toEqual([
          "unauthorized",
          { code: expect.stringMatching(/^ERR_TOKEN_/), message: "Token is not valid" },
        ]);
        expect(ackOf(frames[1] as string)).toMatchObject({ ok: false });
      }
    }
    // The socket's own object is the only one created: the requests never left it.
    const created = (await listDurableObjectIds(env.ROOMS)).filter((id) => !before.some((old) => old.equals(id)));
    expect(created).toHaveLength(1);
    expect(created[0]?.equals(env.ROOMS.idFromName(roomObjectName("demo", room)))).toBe(false);
  });
});

describe("events and acks", () => {
  it("answers a request without auth with unauthorized ERR_TOKEN_MISSING, as the handshake answers a room without a token", async () => {
    const socket = await openRawSocket();
    await socket.connect();
    await socket.request("auth-request", await signAppToken(secret, "demo"), 1);
    const [refused, ack] = await socket.request("room-create-request", { room: "no-auth" }, 2);
    const missing = { code: "ERR_TOKEN_MISSING", message: "Token is not valid" };
    expect(eventOf(refused as string)).toEqual(["unauthorized", missing]);
    expect(ackOf(ack as string)).toEqual({ ok: false, error: missing });
  });

  it("answers auth-request with auth-accept and the ack's outcome", async () => {
    const socket = await openRawSocket();
    await socket.connect();
    const [accept, ack] = await socket.request("auth-request", await signAppToken(secret, "demo"), 7);
    const [name, data] = eventOf(accept as string);
    expect(name).toBe("auth-accept");
    expect(ackOf(ack as string)).toEqual({ ok: true, data });
  });

  it("keeps a socket healthy after garbage frames", async () => {
    const socket = await openRawSocket("&app=demo&room=garbage");
    await socket.connect();
    const garbage: Array<string | ArrayBuffer> = [
      "zzz",
      "4",
      '42["x",',
      "0{}",
      new ArrayBuffer(3),
      '451-["a",{}]',
      "42{}",
    ];
    for (const frame of garbage) {
      socket.send(frame);
      const [name, data] = eventOf(await socket.next());
      expect(name).toBe("signaling-error");
      expect(data).toMatchObject({ code: expect.stringMatching(/^ERR_(INVALID_PACKET|BINARY_NOT_SUPPORTED)$/) });
    }
    const [accept] = await socket.request("auth-request", await signAppToken(secret, "demo"));
    expect(eventOf(accept as string)[0]).toBe("auth-accept");
  });

  it("closes a socket that sends a frame over maxPayload with 1009, and only that socket", async () => {
    const room = "oversize";
    const victim = await openRawSocket(`&app=demo&room=${room}`);
    const bystander = await openRawSocket(`&app=demo&room=${room}`);
    await victim.connect();
    await bystander.connect();
    victim.send(`42["x","${"a".repeat(1_000_000)}"]`);
    expect(await victim.closed).toBe(1009);
    const [accept] = await bystander.request("auth-request", await signAppToken(secret, "demo"));
    expect(eventOf(accept as string)[0]).toBe("auth-accept");
  });
});

describe("heartbeats driven by the alarm", () => {
  it("pings at each alarm; a pong is answered by the runtime; a socket that stops answering is closed", async () => {
    const room = "heartbeat";
    const socket = await openRawSocket(`&app=demo&room=${room}`);
    await socket.connect();

    expect(await runDurableObjectAlarm(roomStub("demo", room))).toBe(true);
    expect(await socket.next()).toBe("2");
    socket.send("3");
    // The auto-response: the runtime answers the pong with a noop, without the object.
    expect(await socket.next()).toBe("6");

    await tick();
    expect(await runDurableObjectAlarm(roomStub("demo", room))).toBe(true);
    expect(await socket.next()).toBe("2"); // still alive: it answered
    // No pong this time.
    await tick();
    expect(await runDurableObjectAlarm(roomStub("demo", room))).toBe(true);
    expect(await socket.closed).toBe(4000);
    // Nobody left: the object stops scheduling alarms.
    await tick();
    expect(await runDurableObjectAlarm(roomStub("demo", room))).toBe(false);
  });

  it("keeps state across the alarm: a socket answers events after pings", async () => {
    const room = "heartbeat-state";
    const socket = await openRawSocket(`&app=demo&room=${room}`);
    await socket.connect();
    await socket.request("auth-request", await signAppToken(secret, "demo"));
    await runDurableObjectAlarm(roomStub("demo", room));
    expect(await socket.next()).toBe("2");
    socket.send("3");
    expect(await socket.next()).toBe("6");
    const [accept] = await socket.request("auth-request", await signAppToken(secret, "demo"), 2);
    expect(eventOf(accept as string)[0]).toBe("auth-accept");
  });
});
