import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { signAppToken } from "../../src/auth/tokens";
import { roomObjectName } from "../../src/socket/placement";
import { ackOf, eventOf, openRawSocket } from "../support/raw-socket";

const secret = env.TOKEN_SECRET as string;

async function authenticated(query = "", peerinfo: unknown = null) {
  const socket = await openRawSocket(query);
  await socket.connect();
  const frames = await socket.request("auth-request", { token: await signAppToken(secret, "demo"), peerinfo });
  const outcome = ackOf(frames.at(-1) as string) as { ok: boolean; data: { token: string } };
  return { socket, outcome, session: outcome.ok ? outcome.data.token : "" };
}

describe("a peerinfo within its JSON limit", () => {
  it("fits the socket's attachment however structured clone would store it ([-0,-0,...] of 4095 bytes)", async () => {
    const peerinfo = JSON.parse(`[${Array(2047).fill("-0").join(",")}]`) as number[];
    expect(JSON.stringify(peerinfo).length).toBeLessThanOrEqual(4096);
    const room = "negative-zeros";
    const { socket, outcome, session } = await authenticated(`&app=demo&room=${room}`, peerinfo);
    expect(outcome.ok).toBe(true);
    const [created] = await socket.request("room-create-request", { auth: session, room }, 2);
    expect(eventOf(created as string)[0]).toBe("room-create-accept");
    socket.ws.close(1000);
    expect(await socket.closed).toBe(1000);
  });
});

describe("requests naming a room that does not exist", () => {
  it("leave no storage in that room's object", async () => {
    const room = "never-created";
    const { socket, session } = await authenticated();
    const requests: Array<[string, object]> = [
      ["room-join-request", { room }],
      ["room-leave-request", { room }],
      ["room-join-accept", { room, peer_id: "nobody-nobody-nobody", to: "nobody-nobody-nobody" }],
      ["room-join-reject", { room, peer_id: "nobody-nobody-nobody", to: "nobody-nobody-nobody" }],
      ["relay-ice-candidate", { room, to: "nobody-nobody-nobody", peer_id: "x", ice_candidate: {} }],
    ];
    let ackId = 2;
    for (const [event, data] of requests) {
      const frames = await socket.request(event, { auth: session, ...data }, ackId++);
      expect(ackOf(frames.at(-1) as string)).toMatchObject({ ok: false });
    }
    const stub = env.ROOMS.get(env.ROOMS.idFromName(roomObjectName("demo", room)));
    const left = await runInDurableObject(stub, async (_instance, state) => ({
      tables: state.storage.sql
        .exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\'")
        .toArray(),
      keys: (await state.storage.list()).size,
      alarm: await state.storage.getAlarm(),
    }));
    expect(left).toEqual({ tables: [], keys: 0, alarm: null });
  });
});
