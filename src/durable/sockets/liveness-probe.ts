import { ENGINE_PING } from "../../protocol/engine-io";
import type { HeldSockets } from "./held-sockets";
import { sendQuietly } from "./quiet-socket";

/** How often a probe looks for the pong (ms). */
const POLL_MS = 100;

/**
 * Whether the client of a socket is still there: a ping now, and the pong
 * the runtime answers by itself (it says when). A reconnect presenting the
 * pid of a session whose socket still answers must prove more than the pid
 * to take it over; one whose old socket is silent (its network changed, the
 * server has not noticed yet) takes it over after the probe.
 */
export class LivenessProbe {
  constructor(
    private readonly held: Pick<HeldSockets, "byId">,
    /** When the runtime last answered a ping of this socket itself (ms), or null. */
    private readonly autoPongAt: (ws: WebSocket) => number | null,
  ) {}

  /** True if the socket of `socketId` answers a ping within `withinMs`; false if it does not, or closes. */
  async answers(socketId: string, withinMs: number): Promise<boolean> {
    const ws = this.held.byId(socketId);
    if (!ws) return false;
    const sentAt = Date.now();
    if (!sendQuietly(ws, ENGINE_PING)) return false;
    while (Date.now() - sentAt < withinMs) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      if (ws.readyState !== WebSocket.READY_STATE_OPEN) return false;
      if ((this.autoPongAt(ws) ?? -1) >= sentAt) return true;
    }
    return false;
  }
}
