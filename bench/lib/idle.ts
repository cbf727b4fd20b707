import { fetchAppToken } from "../../test/support/app-token";
import { setUpRoom } from "../../test/support/call";
import { connectPeer, type TestPeer } from "../../test/support/peer";
import { roomQuery } from "./peers";
import { MANY_SOCKETS_VARS, startWrangler } from "./systems";

export interface IdleCost {
  seconds: number;
  sockets: number;
  objects: number;
  wakes: { alarm: number; message: number; rpc: number };
  wakesPerSocketPerMinute: number;
  wakesPerSocketPerMinuteAlone: number;
  deafNoticedAfterSeconds: number | null;
  dollarsPerMillionConnectionMinutes: number;
}

/**
 * Idle sockets under default heartbeat settings, with wake logging on:
 * half alone in their own objects, half in rooms of two (both in the room's
 * object). Counts object wakes per kind. One extra socket stops answering
 * pings, to time how long the server takes to notice.
 *
 * Resolves once the sockets are connected and the window has begun; its
 * `result` settles when the window is over (other work may run meanwhile).
 *
 * @example
 * const idle = await startIdleWindow(150, 100);
 * // ... other sections ...
 * const cost = await idle.result;
 */
export async function startIdleWindow(
  idleSeconds: number,
  idleSockets: number,
): Promise<{ result: Promise<IdleCost> }> {
  const server = await startWrangler({ vars: { ...MANY_SOCKETS_VARS, LOG_WAKES: "true" } });
  try {
    const appToken = await fetchAppToken(server.url, "bench");
    const alone: TestPeer[] = [];
    for (let i = 0; i < idleSockets / 2; i++) alone.push(await connectPeer({ url: server.url, appToken }));
    const paired: TestPeer[] = [];
    for (let i = 0; i < idleSockets / 4; i++) {
      const room = `idle-${i}`;
      const [a, b] = [
        await connectPeer({ url: server.url, appToken, query: roomQuery(room, appToken) }),
        await connectPeer({ url: server.url, appToken, query: roomQuery(room, appToken) }),
      ];
      await setUpRoom(room, a, b);
      paired.push(a, b);
    }
    // The deaf socket: connected and authenticated like the others (so that only missed pongs can
    // close it, not an auth timeout), then its pongs are swallowed.
    const deaf = (await connectPeer({ url: server.url, appToken })).socket;
    const engine = deaf.io.engine as unknown as { _sendPacket: (type: string, ...rest: unknown[]) => void };
    const send = engine._sendPacket.bind(engine);
    engine._sendPacket = (type, ...rest) => {
      if (type !== "pong") send(type, ...rest);
    };
    const deafSince = performance.now();
    let deafNoticedAfter: number | null = null;
    deaf.on("disconnect", (reason) => {
      // Only the server's close counts, not ours at the end of the window.
      if (reason !== "io client disconnect") deafNoticedAfter = (performance.now() - deafSince) / 1000;
    });

    const from = server.output().length;
    const finish = async (): Promise<IdleCost> => {
      await new Promise((r) => setTimeout(r, idleSeconds * 1000));
      const window = server.output().slice(from);
      const count = (kind: string) =>
        window.split("\n").filter((line) => line.includes(`"log":"wake"`) && line.includes(`"kind":"${kind}"`)).length;
      const wakes = { alarm: count("alarm"), message: count("message"), rpc: count("rpc") };
      const minutes = idleSeconds / 60;
      const sockets = alone.length + paired.length;
      const total = wakes.alarm + wakes.message + wakes.rpc;
      for (const peer of [...alone, ...paired]) peer.close();
      deaf.close();
      return {
        seconds: idleSeconds,
        sockets,
        objects: alone.length + paired.length / 2,
        wakes,
        wakesPerSocketPerMinute: total / sockets / minutes,
        // The deaf socket is alone in its object too, until it is closed.
        wakesPerSocketPerMinuteAlone: estimateAlone(window, alone.length + 1, minutes),
        deafNoticedAfterSeconds: deafNoticedAfter,
        // Cloudflare's published prices: $0.15 per million requests (alarm invocations,
        // RPC calls, and incoming WebSocket messages at 20:1); the runtime answers pongs
        // by itself, so they wake nothing. Duration is not counted here: a woken idle object
        // runs for milliseconds.
        dollarsPerMillionConnectionMinutes: (total / sockets / minutes) * 0.15,
      };
    };
    const result = finish().finally(() => server.stop());
    // Awaited later, after other sections: keep a failure from counting as unhandled meanwhile.
    result.catch(() => {});
    return { result };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

/** Wakes per minute of the objects that hold one socket each (their names are hex ids, not room names). */
function estimateAlone(window: string, sockets: number, minutes: number): number {
  const lines = window.split("\n").filter((line) => line.includes(`"log":"wake"`) && !line.includes(`"object":"room:`));
  return lines.length / sockets / minutes;
}
