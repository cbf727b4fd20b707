import { SignalingError } from "./errors";
import { isFresh, refreshAfterMs } from "./ice-timing";

/** One entry of `RTCConfiguration.iceServers` (typed here so that Node code needs no DOM types). */
export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

interface IceServersAnswer {
  response: { iceServers: IceServer[]; ttl: number } | null;
  error: { code: string; message: string } | null;
}

export interface IceServerSourceOptions {
  /** The server's origin, e.g. `https://signaling.example.org`. */
  url: string;
  /** An app or session token for `Authorization: Bearer`. */
  token: string;
  /** Servers of the application's own, put before the server's. */
  extra?: IceServer[];
  /** `false`: do not ask the server (only `extra` is used). */
  fetch?: boolean;
}

/**
 * The ICE servers to set up connections with: `GET /ice-servers` (STUN, and TURN with short-lived
 * credentials), fetched when first needed and again whenever the credentials near their expiry.
 * docs/PROTOCOL.md says not to cache the answer for a run of the client; this keeps it only while
 * its credentials are fresh (see ice-timing.ts), and `watch` pushes each refresh to live connections.
 *
 * @example
 * const source = new IceServerSource({ url, token: appToken });
 * new RTCPeerConnection({ iceServers: await source.current() });
 */
export class IceServerSource {
  readonly #options: IceServerSourceOptions;
  #cached: { servers: IceServer[]; ttl: number; fetchedAt: number } | null = null;
  #pending: Promise<IceServer[]> | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  readonly #watchers = new Set<(servers: IceServer[]) => void>();

  constructor(options: IceServerSourceOptions) {
    this.#options = options;
  }

  /** Servers with credentials fresh enough to set up a connection now (fetched again if not). */
  current(): Promise<IceServer[]> {
    const cached = this.#cached;
    if (cached && isFresh(cached.fetchedAt, cached.ttl, Date.now())) return Promise.resolve(cached.servers);
    return this.refresh();
  }

  /** Fetches new credentials now (one fetch at a time); watchers get them. */
  refresh(): Promise<IceServer[]> {
    this.#pending ??= this.#fetch().finally(() => {
      this.#pending = null;
    });
    return this.#pending;
  }

  /**
   * Calls `listener` with every later refresh, and refreshes by itself before expiry while anyone
   * watches (a call is on). Returns the way to stop watching.
   */
  watch(listener: (servers: IceServer[]) => void): () => void {
    this.#watchers.add(listener);
    this.#schedule();
    return () => {
      this.#watchers.delete(listener);
      if (this.#watchers.size === 0) this.#unschedule();
    };
  }

  async #fetch(): Promise<IceServer[]> {
    const extra = this.#options.extra ?? [];
    let servers = extra;
    let ttl = 24 * 3600; // nothing to expire
    if (this.#options.fetch !== false) {
      const answer = await this.#ask();
      servers = [...extra, ...answer.iceServers];
      ttl = answer.ttl;
    }
    this.#cached = { servers, ttl, fetchedAt: Date.now() };
    this.#schedule();
    for (const watcher of [...this.#watchers]) watcher(servers);
    return servers;
  }

  async #ask(): Promise<{ iceServers: IceServer[]; ttl: number }> {
    let body: IceServersAnswer;
    try {
      const res = await fetch(new URL("/ice-servers", this.#options.url), {
        headers: { Authorization: `Bearer ${this.#options.token}` },
      });
      body = (await res.json()) as IceServersAnswer;
    } catch (error) {
      throw new SignalingError("ERR_ICE_SERVERS", `GET /ice-servers failed: ${(error as Error).message}`);
    }
    if (!body.response) {
      const { code = "ERR_ICE_SERVERS", message = "GET /ice-servers failed" } = body.error ?? {};
      throw new SignalingError(code as "ERR_ICE_SERVERS", message);
    }
    return body.response;
  }

  #schedule(): void {
    this.#unschedule();
    const cached = this.#cached;
    if (this.#watchers.size === 0 || !cached) return;
    const due = cached.fetchedAt + refreshAfterMs(cached.ttl) - Date.now();
    this.#timer = setTimeout(
      () => {
        // A failed refresh is tried again at the next connection set-up or ICE restart.
        this.refresh().catch(() => undefined);
      },
      Math.max(0, due),
    );
  }

  #unschedule(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** Stops the refresh timer and forgets the watchers. */
  close(): void {
    this.#watchers.clear();
    this.#unschedule();
  }
}
