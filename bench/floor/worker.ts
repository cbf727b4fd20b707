import { DurableObject } from "cloudflare:workers";

interface FloorEnv {
  PAIRS: DurableObjectNamespace<Pair>;
}

/** Two sockets, tagged "a" and "b"; each frame from one goes to the other, untouched. */
export class Pair extends DurableObject<FloorEnv> {
  override async fetch(request: Request): Promise<Response> {
    const side = new URL(request.url).searchParams.get("side") === "b" ? "b" : "a";
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server, [side]);
    return new Response(null, { status: 101, webSocket: client });
  }

  override webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): void {
    const side = this.ctx.getTags(ws)[0];
    this.ctx.getWebSockets(side === "a" ? "b" : "a")[0]?.send(message);
  }

  override webSocketClose(ws: WebSocket, code: number): void {
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code);
    } catch {
      // already closed
    }
  }
}

export default {
  async fetch(request: Request, env: FloorEnv): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/health") return Response.json({ status: "ok" });
    const id = url.searchParams.get("id");
    if (url.pathname !== "/pair" || !id) return new Response("not found", { status: 404 });
    return env.PAIRS.get(env.PAIRS.idFromName(id)).fetch(request);
  },
} satisfies ExportedHandler<FloorEnv>;
