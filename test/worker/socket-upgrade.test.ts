import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { readSocketConfig } from "../../src/config";
import { AlarmSchedule } from "../../src/durable/runtime/alarm-schedule";
import { Log } from "../../src/durable/runtime/log";
import { HeldSockets } from "../../src/durable/sockets/held-sockets";
import { acceptSocket } from "../../src/durable/sockets/socket-upgrade";

/**
 * src/durable/sockets/socket-upgrade.ts: the 101 must not wait for the socket's alarm.
 * Setting an alarm in the upgrade's own turn held its answer back 2-3 ms under
 * wrangler dev (bench/RESULTS.md); the alarm is asked for in the next turn.
 */
describe("accepting a socket", () => {
  it("answers 101 without touching storage in that turn, and sets the auth deadline's alarm in the next", () =>
    runInDurableObject(env.ROOMS.get(env.ROOMS.newUniqueId()), async (_room, state) => {
      const touched: string[] = [];
      const storage = {
        getAlarm: () => {
          touched.push("getAlarm");
          return state.storage.getAlarm();
        },
        setAlarm: (at: number | Date, options?: DurableObjectSetAlarmOptions) => {
          touched.push("setAlarm");
          return state.storage.setAlarm(at, options);
        },
        deleteAlarm: () => {
          touched.push("deleteAlarm");
          return state.storage.deleteAlarm();
        },
      };
      const config = readSocketConfig(env);
      const waited: Promise<unknown>[] = [];
      const host = {
        ctx: {
          acceptWebSocket: (ws: WebSocket, tags?: string[]) => state.acceptWebSocket(ws, tags),
          waitUntil: (work: Promise<unknown>) => void waited.push(work),
        },
        held: new HeldSockets(state, {
          record: () => {
            throw new Error("no recoverable sessions in this test");
          },
          changed: () => {
            throw new Error("no recoverable sessions in this test");
          },
        }),
        alarms: new AlarmSchedule(storage),
        config,
        log: new Log(undefined, () => "upgrade-test"),
        drop: async () => {
          throw new Error("no socket gives way in this test");
        },
      };
      const before = Date.now();
      const response = acceptSocket(
        new Request("http://localhost/socket.io/?EIO=4&transport=websocket", { headers: { Upgrade: "websocket" } }),
        host,
      );

      expect(response.status).toBe(101);
      expect(touched).toEqual([]);
      await Promise.all(waited);
      expect(touched).toEqual(["getAlarm", "setAlarm"]);
      expect(await state.storage.getAlarm()).toBeGreaterThanOrEqual(
        before + Math.min(config.pingInterval, config.authTimeout),
      );
      response.webSocket?.accept();
      response.webSocket?.close(1000);
    }));
});
