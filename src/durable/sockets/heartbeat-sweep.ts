import { ENGINE_PING } from "../../protocol/engine-io";
import { authDeadline, CLOSE_AUTH_TIMEOUT } from "../../socket/auth-deadline";
import { CLOSE_INTERNAL_ERROR } from "../../socket/connection";
import { CLOSE_PING_TIMEOUT, heartbeatDue, judgeSocket } from "../../socket/heartbeat";
import type { HeldSockets } from "./held-sockets";
import { closeQuietly, sendQuietly } from "./quiet-socket";

const LAST_PING_KEY = "heartbeat:lastPingAt";

/** What the sweep needs from its object. */
export interface SweepHost {
  storage: Pick<DurableObjectStorage, "get" | "put" | "delete">;
  held: HeldSockets;
  /** When the runtime last answered a ping of this socket itself (ms), or null. */
  autoPongAt(ws: WebSocket): number | null;
  /** Closes a socket from the server side, in its turn with its frames. */
  drop(ws: WebSocket, tag: string, code: number, reason: string): Promise<void>;
}

interface SweepTimes {
  pingInterval: number;
  pingTimeout: number;
  authTimeout: number;
}

/**
 * The alarm's work for sockets: closes those past their auth deadline;
 * when a ping is due, closes those that missed the previous one and pings
 * the rest. The rule per socket is `judgeSocket` (src/socket/heartbeat.ts);
 * this applies it. Pongs are answered by the runtime without waking the
 * object, which says when (`autoPongAt`).
 */
export class HeartbeatSweep {
  constructor(private readonly host: SweepHost) {}

  /** Returns when the next sweep is due (a ping or an auth deadline), or null when no socket is left. */
  async run(now: number, times: SweepTimes): Promise<number | null> {
    const { storage, held } = this.host;
    const lastPingAt = (await storage.get<number>(LAST_PING_KEY)) ?? null;
    // An early alarm (a join request's expiry, an auth deadline) soon after a ping: pongs may still be on their way.
    const pingDue = heartbeatDue(lastPingAt, now, times.pingTimeout);
    let live = 0;
    let nextDeadline: number | null = null;
    for (const ws of held.all()) {
      const tag = held.tagOf(ws);
      const state = tag ? held.state(ws, tag) : null;
      if (!tag || !state) {
        closeQuietly(ws, CLOSE_INTERNAL_ERROR, "connection state lost");
        continue;
      }
      if (held.closedHere(tag)) continue;
      // The runtime answers most pongs itself and says when; the object saw the others.
      const lastPongAt = Math.max(this.host.autoPongAt(ws) ?? -1, state.lastPongAt ?? -1);
      const verdict = judgeSocket(
        {
          openedAt: state.openedAt,
          authenticated: state.authenticated,
          lastPongAt: lastPongAt < 0 ? null : lastPongAt,
        },
        { now, lastPingAt, pingDue, authTimeout: times.authTimeout },
      );
      if (verdict === "close-auth-timeout") {
        await this.host.drop(ws, tag, CLOSE_AUTH_TIMEOUT, "auth timeout");
        continue;
      }
      if (verdict === "close-ping-timeout") {
        await this.host.drop(ws, tag, CLOSE_PING_TIMEOUT, "ping timeout");
        continue;
      }
      if (verdict === "ping" && !sendQuietly(ws, ENGINE_PING)) continue;
      live++;
      const deadline = authDeadline(state, times.authTimeout);
      if (deadline !== null && (nextDeadline === null || deadline < nextDeadline)) nextDeadline = deadline;
    }
    if (live === 0) {
      if (lastPingAt !== null) await storage.delete(LAST_PING_KEY);
      return null;
    }
    if (pingDue) await storage.put(LAST_PING_KEY, now);
    const nextPing = (pingDue ? now : (lastPingAt as number)) + times.pingInterval;
    return nextDeadline === null ? nextPing : Math.min(nextPing, nextDeadline);
  }
}
