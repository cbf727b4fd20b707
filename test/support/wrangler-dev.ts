import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

/** A `wrangler dev` started by a test, serving the project over real TCP on loopback. */
export interface DevServer {
  /** e.g. `http://127.0.0.1:40123` */
  url: string;
  port: number;
  /** Process id of wrangler; the runtime (workerd) runs as its descendant. */
  pid: number;
  /**
   * Everything wrangler printed so far (its own lines and the worker's
   * `console.log`), for tests that read logs and for failure messages. It is
   * kept here, not printed: test/support/wrangler-output-on-failure.ts prints
   * it for a failing test, and `DEBUG_WRANGLER=1` prints it as it comes.
   */
  output(): string;
  stop(): Promise<void>;
}

export interface DevServerOptions {
  /** Extra `--var NAME:VALUE` bindings, overriding `.dev.vars`. */
  vars?: Record<string, string>;
  /** How long to wait for `/health` to answer. */
  readyTimeoutMs?: number;
  /** A port to listen on (default: a free one). */
  port?: number;
  /** A state directory to use and keep (default: a throw-away one). */
  persistTo?: string;
  /** Another wrangler configuration file (default: the project's wrangler.toml). */
  config?: string;
  /** Where ports come from (default: {@link freePort}); tests of the start-up itself hand out taken ones. */
  pickPort?: () => Promise<number>;
}

const root = resolve(import.meta.dirname, "../..");

/**
 * `DEBUG_WRANGLER=1`: print wrangler's output as it comes (to stderr, each
 * line prefixed with the port), not only for a failing test.
 * `DEBUG_WRANGLER=debug` also raises wrangler's log level to debug.
 */
const streamOutput = !["", "0", "false"].includes(process.env.DEBUG_WRANGLER ?? "");

const running = new Set<DevServer>();

/**
 * The servers started and not yet stopped in this process, so a test hook can
 * print their output when a test fails.
 *
 * @example
 * for (const server of runningDevServers()) console.error(server.output());
 */
export function runningDevServers(): DevServer[] {
  return [...running];
}

/**
 * Starts `wrangler dev` exactly as `npm start` does, but on a free port and
 * with a throw-away state directory, and waits until `/health` answers.
 *
 * A port the OS called free can be taken before wrangler binds it (another
 * test file starting its server at the same moment): wrangler then exits with
 * "Address already in use", for its port or its inspector's. Start-up tries
 * again with new ports then, up to {@link START_ATTEMPTS} times; a `port` the
 * caller chose is kept (only the inspector's changes).
 *
 * @example
 * const server = await startDevServer();
 * await fetch(`${server.url}/health`);
 * await server.stop();
 */
export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  await vendorOnce();
  const pickPort = options.pickPort ?? freePort;
  const ownState = options.persistTo === undefined;
  const persistTo = options.persistTo ?? (await mkdtemp(join(tmpdir(), "edge-signaling-e2e-")));
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await pickPort());
    const inspectorPort = await pickPort();
    try {
      return await launch(options, port, inspectorPort, persistTo, ownState);
    } catch (error) {
      const clash = error instanceof AddressInUseError;
      if (!clash || attempt >= START_ATTEMPTS || (options.port !== undefined && error.address.endsWith(`:${port}`))) {
        if (ownState) await rm(persistTo, { recursive: true, force: true });
        throw error;
      }
    }
  }
}

/** How many times {@link startDevServer} starts wrangler when its ports are taken under it. */
const START_ATTEMPTS = 5;

/** wrangler exited because a port it was given was taken after it was picked. */
class AddressInUseError extends Error {
  constructor(
    readonly address: string,
    output: string,
  ) {
    super(`wrangler dev: address already in use (${address}):\n${output}`);
  }
}

/** One start of wrangler on the given ports; rejects with {@link AddressInUseError} on a clash. */
async function launch(
  options: DevServerOptions,
  port: number,
  inspectorPort: number,
  persistTo: string,
  ownState: boolean,
): Promise<DevServer> {
  const args = ["dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", persistTo];
  args.push("--inspector-port", String(inspectorPort), "--show-interactive-dev-session=false");
  for (const [name, value] of Object.entries(options.vars ?? {})) args.push("--var", `${name}:${value}`);
  if (options.config) args.push("--config", options.config);

  // The wrangler binary itself, in its own process group: killing an npx
  // wrapper was seen to leave wrangler and workerd serving.
  const child = spawn(join(root, "node_modules/.bin/wrangler"), args, {
    cwd: root,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      // Offline machines: do not try to fetch Request.cf or send metrics.
      CLOUDFLARE_CF_FETCH_ENABLED: "false",
      WRANGLER_SEND_METRICS: "false",
      NO_COLOR: "1",
      CI: "true",
      // Tests read the worker's log lines, which wrangler prints at level "log":
      // whatever the caller's WRANGLER_LOG (vitest.config.ts lowers it for the worker pool).
      WRANGLER_LOG: process.env.DEBUG_WRANGLER === "debug" ? "debug" : "log",
    },
  });
  // If this process ends without stop() (a crash, a killed script), take wrangler and the runtime along.
  const orphanGuard = () => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
    } catch {
      // already gone
    }
  };
  process.once("exit", orphanGuard);
  // Kept, not printed: a green run stays quiet (see DevServer.output).
  let output = "";
  const collect = (chunk: Buffer) => {
    const text = chunk.toString();
    output += text;
    if (streamOutput) process.stderr.write(text.replace(/^(?=.)/gm, `[wrangler :${port}] `));
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  // "close" comes after the output is read to its end ("exit" may come before).
  const closed = new Promise<void>((r) => child.once("close", () => r()));

  const url = `http://127.0.0.1:${port}`;
  const stop = async (removeState = ownState) => {
    running.delete(server);
    process.off("exit", orphanGuard);
    await kill(child);
    if (removeState) await rm(persistTo, { recursive: true, force: true });
  };
  const server: DevServer = { url, port, pid: child.pid ?? 0, output: () => output, stop: () => stop() };
  running.add(server);
  try {
    await waitForHealth(url, child, options.readyTimeoutMs ?? 30_000, () => output);
  } catch (error) {
    // The state directory stays for the next attempt; startDevServer removes it when it gives up.
    await stop(false);
    await closed;
    // wrangler says "Address already in use (127.0.0.1:N)" for the ports it was given; the runtime
    // says "Address already in use; toString() = 127.0.0.1:N" for a port wrangler picked itself
    // (seen in a CI run with two test files starting servers at once).
    const match = /Address already in use(?: \(([^)]+)\)|; toString\(\) = (\S+))/.exec(output);
    const address = match?.[1] ?? match?.[2];
    throw address === undefined ? error : new AddressInUseError(address, output);
  }
  return server;
}

let vendored: Promise<unknown> | undefined;

/**
 * Runs scripts/vendor.mjs once per process, as `npm start` does before
 * `wrangler dev` (the demo page loads public/vendor/). Async: a `spawnSync`
 * was seen to hang in processes that host wrangler's proxy.
 */
function vendorOnce(): Promise<unknown> {
  vendored ??= promisify(execFile)(process.execPath, [join(root, "scripts/vendor.mjs")], { cwd: root });
  return vendored;
}

async function waitForHealth(url: string, child: ChildProcess, timeoutMs: number, output: () => string) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`wrangler dev exited with ${child.exitCode}:\n${output()}`);
    }
    try {
      // Only once our wrangler says it is ready: a port taken under us may be
      // another test's server, whose /health answers too.
      if (output().includes(`Ready on ${url}`)) {
        const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
        if (res.ok) return;
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`wrangler dev did not answer ${url}/health within ${timeoutMs} ms:\n${output()}`);
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  try {
    process.kill(-child.pid, "SIGTERM");
  } catch {
    return; // already gone
  }
  const timer = setTimeout(() => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }, 5000);
  await exited;
  clearTimeout(timer);
}

/** A port the OS says is free right now. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === "object") resolvePort(address.port);
        else reject(new Error("no port"));
      });
    });
  });
}
