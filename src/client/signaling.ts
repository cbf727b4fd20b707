import { io, type ManagerOptions, type Socket, type SocketOptions } from "socket.io-client";
import type { ClientToServerEvents, Json, Outcome, ServerToClientEvents } from "../protocol/events";
import { Emitter } from "./emitter";
import { SignalingError } from "./errors";
import { appOfToken, expiryOf, renewAfterMs } from "./token-claims";

export type ServerSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** Requests whose answer the library waits for (their acknowledgement; see docs/PROTOCOL.md "act on one"). */
export type RoomRequest =
  | "room-create-request"
  | "room-join-request"
  | "room-join-accept"
  | "room-join-reject"
  | "room-leave-request";
export type Relay = "relay-session-description" | "relay-ice-candidate";
/** What became of a relay: sent now, held until the session is back, or dropped (too many held). */
export type RelayFate = "sent" | "held" | "dropped";

export interface SignalingOptions {
  /** The server's origin, e.g. `https://signaling.example.org` (a page may pass `location.origin`). */
  url: string;
  /** The app token (`POST /app`). */
  token: string;
  /** Rides on every event about this peer (at most 4 KiB of JSON by default). */
  peerinfo?: Json;
  /**
   * The room this client is for, when known before connecting: the socket is then placed in that
   * room's Durable Object through the handshake query, and its signaling needs no hop.
   */
  room?: string;
  /** How long a request waits for its answer (default 15 s). */
  requestTimeoutMs?: number;
  /** Passed to socket.io-client's `io()` (tests shorten reconnection delays). */
  socket?: Partial<ManagerOptions & SocketOptions>;
}

/** Relays held while the socket is down; more are dropped (an ICE restart recovers from that). */
const MAX_HELD_RELAYS = 500;
const DEFAULT_TIMEOUT_MS = 15_000;

interface SignalingEvents {
  /**
   * A session is ready: after the first connect, and after every reconnect. `recovered`: the server
   * kept the session through the drop (connection state recovery): same id, token and rooms, and
   * the missed events have been delivered. Otherwise this is a new peer with a new id.
   */
  session: (info: { id: string; recovered: boolean }) => void;
  /** The socket dropped; socket.io-client reconnects by itself unless the server or we closed it. */
  disconnected: (reason: string) => void;
  /** A refusal no request of ours waits for (say, of a relay). */
  error: (error: SignalingError) => void;
}

/**
 * The socket to the server: connects (with connection state recovery), authenticates on every new
 * session, sends requests and turns their refusals into {@link SignalingError}s, renews an expired
 * session token, and holds relays while the socket is down (sent if the session is recovered,
 * dropped if not). Works in Node too: it needs no WebRTC.
 *
 * @example
 * const signaling = await Signaling.open({ url, token: appToken, peerinfo: { name: "bot" } });
 * const { room } = await signaling.request("room-create-request", {});
 */
export class Signaling extends Emitter<SignalingEvents> {
  readonly socket: ServerSocket;
  /** The same socket without the typed event map, for the helpers that send any request or relay. */
  readonly #untyped: Socket;
  readonly #options: SignalingOptions;
  readonly #timeoutMs: number;
  #session: string | null = null;
  #ready = false;
  #closed = false;
  #held: Array<() => void> = [];
  #renewing: Promise<void> | null = null;
  #renewTimer: ReturnType<typeof setTimeout> | null = null;
  #waiters: Array<() => void> = [];

  private constructor(options: SignalingOptions) {
    super();
    this.#options = options;
    this.#timeoutMs = options.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    const query: Record<string, string> = { recovery: "1" };
    if (options.room !== undefined) {
      const app = appOfToken(options.token);
      if (!app) throw new SignalingError("ERR_TOKEN_MALFORMED", "The app token is not a JWT with an app claim");
      Object.assign(query, { app, room: options.room, token: options.token });
    }
    this.#untyped = io(options.url, {
      transports: ["websocket"],
      auth: { token: options.token },
      query,
      forceNew: true,
      ...options.socket,
    });
    this.socket = this.#untyped;
    this.socket.on("connect", () => void this.#onConnect());
    this.socket.on("disconnect", (reason) => {
      this.#ready = false;
      this.emit("disconnected", reason);
    });
    // A relay refused for a token past its expiry (a call longer than TOKEN_LIFETIME, or a renewal
    // that came too late): renew it, so that the next relays pass. Requests renew by themselves.
    this.socket.on("unauthorized", (refusal) => {
      if (refusal.code === "ERR_TOKEN_EXPIRED" && this.#ready) void this.#renew();
    });
    this.socket.on("signaling-error", (error) => {
      // Refusals of requests sent with an acknowledgement are answered there; relays have none.
      if (error.event === "relay-session-description" || error.event === "relay-ice-candidate" || !error.event) {
        this.emit("error", SignalingError.from(error));
      }
    });
  }

  /**
   * Connects and authenticates; resolves once the first session is ready. Rejects with the
   * server's code when it refuses the token, or `ERR_CONNECT_FAILED` when no connection is made
   * within the request timeout.
   */
  static open(options: SignalingOptions): Promise<Signaling> {
    const signaling = new Signaling(options);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => fail(new SignalingError("ERR_CONNECT_FAILED", "Could not connect to the server")),
        signaling.#timeoutMs,
      );
      const fail = (error: SignalingError) => {
        clearTimeout(timer);
        off();
        signaling.close();
        reject(error);
      };
      const off = signaling.on("session", () => {
        clearTimeout(timer);
        off();
        signaling.socket.off("connect_error", onConnectError);
        resolve(signaling);
      });
      let probed = false;
      const onConnectError = (error: Error & { data?: { code?: string } }) => {
        // A CONNECT refused by the server (a bad token) is final; network failures are retried.
        if (error.data?.code) return fail(new SignalingError(error.data.code as "ERR_CONNECT_FAILED", error.message));
        // With the room in the query, the server refuses a bad token at the upgrade (HTTP 401), which a
        // WebSocket cannot read: ask once without the room, where the CONNECT answer says why.
        if (options.room === undefined || probed) return;
        probed = true;
        void refusalOfToken(options).then((refused) => {
          if (refused) fail(refused);
        });
      };
      signaling.socket.on("connect_error", onConnectError);
      signaling.#authFailed = fail;
    });
  }

  #authFailed: ((error: SignalingError) => void) | null = null;

  /** This peer's id (its socket id), while connected. */
  get id(): string | undefined {
    return this.socket.id;
  }

  /** Connected and authenticated. */
  get ready(): boolean {
    return this.#ready;
  }

  /**
   * Sends a request with its session token and waits for its acknowledgement; a refusal rejects
   * with the server's code. Waits for the session while the socket is reconnecting.
   */
  async request<T = unknown>(event: RoomRequest, fields: Record<string, unknown>): Promise<T> {
    await this.#whenReady();
    let outcome = await this.#ask(event, { ...fields, auth: this.#session });
    if (!outcome.ok && outcome.error.code === "ERR_TOKEN_EXPIRED") {
      // A day-old token: a new one on the same connection, then the request again (docs/PROTOCOL.md).
      await this.#renew();
      outcome = await this.#ask(event, { ...fields, auth: this.#session });
    }
    if (!outcome.ok) {
      throw SignalingError.from({
        ...outcome.error,
        event,
        ...(typeof fields.room === "string" ? { room: fields.room } : {}),
      });
    }
    return outcome.data as T;
  }

  /**
   * A relay to another peer, sent at once or held through a drop (see the class comment). Says which:
   * a relay `sent` on a socket that was dying may be lost, one `held` is sent exactly once if the
   * session is recovered.
   */
  relay(event: Relay, fields: Record<string, unknown>): RelayFate {
    // The typed map checks fields at the room's call sites; here every relay has one shape.
    const send = () => this.#untyped.emit(event, { ...fields, auth: this.#session });
    if (this.#ready && this.socket.connected) {
      send();
      return "sent";
    }
    if (this.#held.length >= MAX_HELD_RELAYS) return "dropped";
    this.#held.push(send);
    return "held";
  }

  /** Says goodbye to the server (a DISCONNECT: the session ends at once, leaving its rooms). */
  close(): void {
    this.#closed = true;
    this.#ready = false;
    this.#held = [];
    if (this.#renewTimer !== null) clearTimeout(this.#renewTimer);
    this.socket.disconnect();
  }

  async #onConnect(): Promise<void> {
    if (this.socket.recovered && this.#session) {
      this.#ready = true;
      for (const send of this.#held.splice(0)) send();
      this.#wake();
      this.emit("session", { id: this.socket.id ?? "", recovered: true });
      return;
    }
    // A new peer: what was held for the old one is of no use (its token and rooms are gone).
    this.#held = [];
    try {
      await this.#authenticate();
    } catch (error) {
      const refusal = error instanceof SignalingError ? error : new SignalingError("ERR_NO_ANSWER", String(error));
      if (this.#authFailed) this.#authFailed(refusal);
      else this.emit("error", refusal);
      return;
    }
    this.#authFailed = null;
    this.#ready = true;
    this.#wake();
    this.emit("session", { id: this.socket.id ?? "", recovered: false });
  }

  /** A new session token on the same connection (same id, rooms and peerinfo). */
  async #renew(): Promise<void> {
    this.#renewing ??= this.#authenticate()
      .catch((error: unknown) => {
        if (error instanceof SignalingError) this.emit("error", error);
      })
      .finally(() => {
        this.#renewing = null;
      });
    return this.#renewing;
  }

  /** Renews the session token a minute before it expires, while this session lasts. */
  #scheduleRenewal(): void {
    if (this.#renewTimer !== null) clearTimeout(this.#renewTimer);
    this.#renewTimer = null;
    const expiresAt = this.#session ? expiryOf(this.#session) : null;
    if (expiresAt === null || this.#closed) return;
    this.#renewTimer = setTimeout(
      () => {
        this.#renewTimer = null;
        if (this.#ready) void this.#renew();
      },
      renewAfterMs(Date.now(), expiresAt),
    );
  }

  async #authenticate(): Promise<void> {
    const request = {
      token: this.#options.token,
      ...(this.#options.peerinfo !== undefined ? { peerinfo: this.#options.peerinfo } : {}),
    };
    const outcome = await this.#ask("auth-request", request);
    if (!outcome.ok) throw SignalingError.from({ ...outcome.error, event: "auth-request" });
    this.#session = (outcome.data as { token: string }).token;
    // Every reconnect's CONNECT carries the session token too: a reconnect that arrives before the
    // server noticed the old connection drop (a network change) takes the session over at once,
    // instead of after the server's ping of the old socket goes unanswered (docs/PROTOCOL.md).
    this.socket.auth = { token: this.#options.token, session: this.#session };
    this.#scheduleRenewal();
  }

  async #ask(event: string, data: unknown): Promise<Outcome> {
    if (!this.socket.connected) return disconnected();
    try {
      return (await this.#untyped.timeout(this.#timeoutMs).emitWithAck(event, data)) as Outcome;
    } catch {
      if (!this.socket.connected) return disconnected();
      return { ok: false, error: { code: "ERR_NO_ANSWER", message: `No answer to ${event} in time` } };
    }
  }

  #whenReady(): Promise<void> {
    if (this.#ready) return Promise.resolve();
    if (this.#closed) return Promise.reject(new SignalingError("ERR_DISCONNECTED", "The client is closed"));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((waiter) => waiter !== wake);
        reject(new SignalingError("ERR_DISCONNECTED", "Not connected to the server"));
      }, this.#timeoutMs);
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      this.#waiters.push(wake);
    });
  }

  #wake(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }
}

/**
 * Why the server refuses `options.token`, asked on a connection of its own without the room (a
 * CONNECT with the token, which a refusal answers with its code); null when it does not refuse it.
 */
function refusalOfToken(options: SignalingOptions): Promise<SignalingError | null> {
  return new Promise((resolve) => {
    const probe: Socket = io(options.url, {
      transports: ["websocket"],
      forceNew: true,
      reconnection: false,
      ...options.socket,
      query: {},
      auth: { token: options.token },
    });
    const done = (refused: SignalingError | null) => {
      clearTimeout(timer);
      probe.close();
      resolve(refused);
    };
    const timer = setTimeout(() => done(null), 5_000);
    probe.once("connect", () => done(null));
    probe.once("connect_error", (error: Error & { data?: { code?: string } }) =>
      done(error.data?.code ? new SignalingError(error.data.code as "ERR_CONNECT_FAILED", error.message) : null),
    );
  });
}

function disconnected(): Outcome {
  return { ok: false, error: { code: "ERR_DISCONNECTED", message: "Not connected to the server" } };
}
