import { DurableObject } from "cloudflare:workers";

interface FloorEnv {
  PAIRS: DurableObjectNamespace<Pair>;
  HOPS: DurableObjectNamespace<Hop>;
  COSTS: DurableObjectNamespace<Costs>;
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

/**
 * The runtime floor of a one-hop relay, as this server's seed-style sockets
 * relay: each side's socket in its own object, and each frame carried to the
 * other side's object by RPC, one RPC at a time per object, each answered
 * with whether every frame was delivered. Carried as the server's gateway
 * carries them (src/durable/mesh/mesh-gateway.ts, `#relayOut`), by default
 * ("adaptive"): frames that arrive in one turn of the event loop leave
 * together after it, until two sendings in a row carried one frame with
 * none behind it; from then a frame finding no RPC out leaves at once, until
 * one finds an RPC out. `?mode=turn` always waits for the turn (the server
 * before issue 20), `?mode=now` never does (sends at once whenever no RPC is out).
 */
export class Hop extends DurableObject<FloorEnv> {
  #queue: string[] = [];
  #sending = false;
  #lone = 0;
  #mode: "adaptive" | "turn" | "now" = "adaptive";
  #peer: DurableObjectStub<Hop> | undefined;
  #other = "";

  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const other = url.searchParams.get("side") === "b" ? "a" : "b";
    const mode = url.searchParams.get("mode");
    if (mode === "turn" || mode === "now") this.#mode = mode;
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server, [`${url.searchParams.get("id")}-${other}`]);
    return new Response(null, { status: 101, webSocket: client });
  }

  /** RPC: frames from the other side, for this object's socket. */
  async deliver(frames: string[]): Promise<boolean[]> {
    const ws = this.ctx.getWebSockets()[0];
    return frames.map((frame) => {
      ws?.send(frame);
      return ws !== undefined;
    });
  }

  override webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): void {
    this.#queue.push(typeof message === "string" ? message : new TextDecoder().decode(message));
    this.#other ||= this.ctx.getTags(ws)[0] as string;
    if (this.#sending) return;
    this.#sending = true;
    const atOnce = this.#mode === "now" || (this.#mode === "adaptive" && this.#lone >= 2);
    if (atOnce) void this.#flush();
    else setTimeout(() => void this.#flush(), 0);
  }

  async #flush(): Promise<void> {
    this.#peer ??= this.env.HOPS.get(this.env.HOPS.idFromName(this.#other));
    let rpcs = 0;
    let frames = 0;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0);
        rpcs++;
        frames += batch.length;
        await this.#peer.deliver(batch);
      }
    } catch (error) {
      // The pair is closing (its other side's socket is gone); the server's gateway drops such a batch too.
      console.error("hop floor: delivery failed:", error);
      this.#queue = [];
    } finally {
      this.#sending = false;
      this.#lone = rpcs === 1 && frames === 1 ? this.#lone + 1 : 0;
    }
  }

  override webSocketClose(ws: WebSocket, code: number): void {
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code);
    } catch {
      // already closed
    }
  }
}

/**
 * What one request costs an object, for bench/steps.ts: each frame is answered
 * with itself after doing what it names. "none": nothing; "insert": one SQLite
 * insert (the output gate holds the answer until it is committed); "new-table":
 * a new table and an insert (a room's first write); "log": one console.log line.
 */
export class Costs extends DurableObject<FloorEnv> {
  override async fetch(): Promise<Response> {
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    return new Response(null, { status: 101, webSocket: client });
  }

  override webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): void {
    const sql = this.ctx.storage.sql;
    if (message === "insert") {
      sql.exec("CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID");
      sql.exec("INSERT INTO kv VALUES (?, ?)", crypto.randomUUID(), "v");
    } else if (message === "new-table") {
      const table = `t_${crypto.randomUUID().replaceAll("-", "")}`;
      sql.exec(`CREATE TABLE ${table} (k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID`);
      sql.exec(`INSERT INTO ${table} VALUES (?, ?)`, "k", "v");
    } else if (message === "log") {
      console.log(JSON.stringify({ log: "socket-open", object: "room:bench/costs", socket: "abcdefghijklmnopqrst" }));
    }
    ws.send(message);
  }
}

export default {
  async fetch(request: Request, env: FloorEnv): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/health") return Response.json({ status: "ok" });
    if (url.pathname === "/costs") return env.COSTS.get(env.COSTS.newUniqueId()).fetch(request);
    const id = url.searchParams.get("id");
    if (!id) return new Response("not found", { status: 404 });
    if (url.pathname === "/pair") return env.PAIRS.get(env.PAIRS.idFromName(id)).fetch(request);
    if (url.pathname !== "/hop") return new Response("not found", { status: 404 });
    const side = url.searchParams.get("side") === "b" ? "b" : "a";
    return env.HOPS.get(env.HOPS.idFromName(`${id}-${side}`)).fetch(request);
  },
} satisfies ExportedHandler<FloorEnv>;
