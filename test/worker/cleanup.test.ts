import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { signAppToken } from "../../src/auth/tokens";
import { SessionStore } from "../../src/durable/recovery/session-store";
import { roomObjectName } from "../../src/socket/placement";
import { ackOf, openRawSocket } from "../support/raw-socket";

const secret = env.TOKEN_SECRET as string;

describe("an object with no sockets and no room", () => {
  it("leaves nothing behind in storage and schedules no alarm", async () => {
    const room = "cleanup";
    const stub = env.ROOMS.get(env.ROOMS.idFromName(roomObjectName("demo", room)));
    const socket = await openRawSocket(`&app=demo&room=${room}`);
    await socket.connect();
    const [, accept] = await socket.request("auth-request", await signAppToken(secret, "demo"));
    const { token } = (ackOf(accept as string) as { data: { token: string } }).data;
    const [created] = await socket.request("room-create-request", { auth: token, room }, 2);
    expect(created).toContain("room-create-accept");

    // While the room exists, the object keeps state and an alarm.
    const during = await runInDurableObject(stub, async (_instance, state) => ({
      rows: state.storage.sql.exec("SELECT COUNT(*) AS n FROM kv_hash").one().n as number,
      alarm: await state.storage.getAlarm(),
    }));
    expect(during.rows).toBeGreaterThan(0);
    expect(during.alarm).not.toBeNull();

    socket.ws.close(1000, "bye");
    await socket.closed;
    // The socket's close let the room go at once (no DISCONNECT packet came first, as from a closed
    // tab): a peer elsewhere finds no room before any alarm could have audited the members.
    const other = await openRawSocket();
    await other.connect();
    const [, otherAccept] = await other.request("auth-request", await signAppToken(secret, "demo"));
    const otherToken = (ackOf(otherAccept as string) as { data: { token: string } }).data.token;
    const asked = await other.request("room-join-request", { auth: otherToken, room }, 2);
    expect(ackOf(asked.at(-1) as string)).toMatchObject({ ok: false, error: { code: "ERR_ROOM_NOT_FOUND" } });
    // The next alarm finds no sockets and no room.
    await runDurableObjectAlarm(stub);
    const after = await runInDurableObject(stub, async (_instance, state) => ({
      tables: state.storage.sql
        .exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\'")
        .toArray(),
      alarm: await state.storage.getAlarm(),
      keys: (await state.storage.list()).size,
    }));
    expect(after).toEqual({ tables: [], alarm: null, keys: 0 });
  });
});

describe("the object a seed-style session was born in", () => {
  it("deletes its storage and its alarm when the session ends where it moved to", async () => {
    const stub = env.ROOMS.get(env.ROOMS.newUniqueId());
    const pid = `${stub.id.toString()}.${"P".repeat(20)}`;
    // As after a reconnect elsewhere: it only remembers where the session went, for a day.
    await runInDurableObject(stub, async (_instance, state) => {
      new SessionStore(state.storage.sql).moved({
        pid,
        socketId: "alice",
        movedTo: "b".repeat(64),
        expiresAt: Date.now() + 86_400_000,
      });
      await state.storage.setAlarm(Date.now() + 86_400_000);
    });
    await stub.sessionEnded(pid);
    const after = await runInDurableObject(stub, async (_instance, state) => ({
      tables: state.storage.sql
        .exec("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name LIKE 'recovery_%'")
        .one().n as number,
      alarm: await state.storage.getAlarm(),
    }));
    expect(after).toEqual({ tables: 0, alarm: null });
  });

  it("keeps what it still needs while another session of it is remembered", async () => {
    const stub = env.ROOMS.get(env.ROOMS.newUniqueId());
    const [ended, other] = ["P", "Q"].map((c) => `${stub.id.toString()}.${c.repeat(20)}`) as [string, string];
    await runInDurableObject(stub, async (_instance, state) => {
      const store = new SessionStore(state.storage.sql);
      for (const pid of [ended, other]) {
        store.moved({ pid, socketId: pid.slice(-3), movedTo: "b".repeat(64), expiresAt: Date.now() + 86_400_000 });
      }
      await state.storage.setAlarm(Date.now() + 86_400_000);
    });
    await stub.sessionEnded(ended);
    const alarm = await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm());
    expect(alarm).not.toBeNull();
  });
});
