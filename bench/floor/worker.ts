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
 * other side's object. By default as the server carries them
 * (src/durable/mesh/relay-channels.ts): over a WebSocket this object opens to
 * the other side's object, the frames of one turn of the event loop in one
 * message at its end, or, after two turns in a row of one frame each, each
 * frame at once until two come in the same millisecond; the other side answers for what it delivered at most
 * every 250 ms, not per message. `?mode=rpc`: by RPC, one at a time per object,
 * each answered (the server before the channel), adaptive as the channel is
 * but with an RPC out instead of the turn as the sign that frames come
 * together; `?mode=turn`: by RPC, always waiting for the turn's end (the
 * server before issue 20).
 */
export class Hop extends DurableObject<FloorEnv> {
  #mode: "channel" | "rpc" | "turn" = "channel";
  #peer: DurableObjectStub<Hop> | undefined;
  #other = "";
  /** Frames waiting: for the turn's end, the channel's opening, or the RPC out. */
  #queue: string[] = [];
  #lone = 0;
  // By RPC:
  #sending = false;
  // By channel:
  #channel: WebSocket | undefined;
  #opening = false;
  #turn: number | null = null;
  #leftAtOnce = 0;
  #sent = 0;
  #unanswered = 0;
  #received = 0;
  #answerTimer: ReturnType<typeof setTimeout> | undefined;

  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const { 0: client, 1: server } = new WebSocketPair();
    if (url.pathname === "/channel") {
      server.accept();
      server.addEventListener("message", (event) => this.#fromChannel(server, event.data as string));
      return new Response(null, { status: 101, webSocket: client });
    }
    const other = url.searchParams.get("side") === "b" ? "a" : "b";
    const mode = url.searchParams.get("mode");
    if (mode === "rpc" || mode === "turn") this.#mode = mode;
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
    this.#other ||= this.ctx.getTags(ws)[0] as string;
    this.#queue.push(typeof message === "string" ? message : new TextDecoder().decode(message));
    if (this.#mode === "channel") {
      this.#toChannel();
      return;
    }
    if (this.#sending) return;
    this.#sending = true;
    if (this.#mode === "rpc" && this.#lone >= 2) void this.#flushByRpc();
    else setTimeout(() => void this.#flushByRpc(), 0);
  }

  #toChannel(): void {
    if (this.#turn !== null) {
      this.#turn++;
      return;
    }
    if (this.#lone >= 2) {
      const now = Date.now();
      if (now !== this.#leftAtOnce) {
        this.#leftAtOnce = now;
        this.#flushToChannel();
        return;
      }
      this.#lone = 0;
    }
    this.#turn = 1;
    setTimeout(() => {
      this.#lone = this.#turn === 1 ? this.#lone + 1 : 0;
      this.#turn = null;
      this.#flushToChannel();
    }, 0);
  }

  #flushToChannel(): void {
    if (this.#queue.length === 0) return;
    if (this.#unanswered > 100_000) console.warn("hop floor: the other side answers for nothing");
    if (this.#channel) {
      this.#sent += this.#queue.length;
      this.#channel.send(this.#queue.splice(0).join("\u0000"));
      return;
    }
    if (this.#opening) return;
    this.#opening = true;
    void this.#openChannel().then((channel) => {
      this.#channel = channel;
      if (this.#turn === null) this.#flushToChannel();
    });
  }

  async #openChannel(): Promise<WebSocket> {
    this.#peer ??= this.env.HOPS.get(this.env.HOPS.idFromName(this.#other));
    const response = await this.#peer.fetch("https://hop/channel", { headers: { Upgrade: "websocket" } });
    const channel = response.webSocket;
    if (!channel) throw new Error("hop floor: the other side refused a channel");
    channel.accept();
    // The answers free what the sender keeps of its frames (the server resolves each relay's ack).
    channel.addEventListener("message", (event) => {
      this.#unanswered = this.#sent - Number(event.data);
    });
    return channel;
  }

  #fromChannel(channel: WebSocket, frames: string): void {
    const ws = this.ctx.getWebSockets()[0];
    for (const frame of frames.split("\u0000")) {
      ws?.send(frame);
      this.#received++;
    }
    this.#answerTimer ??= setTimeout(() => {
      this.#answerTimer = undefined;
      channel.send(String(this.#received));
    }, 250);
  }

  async #flushByRpc(): Promise<void> {
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
    try {
      this.#channel?.close(1000);
    } catch {
      // already closed
    }
    this.#channel = undefined;
    this.#opening = false;
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
