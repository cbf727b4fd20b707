import { type ChildProcess, spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Debian's coturn, which .ci/run installs; tests never reach a TURN server beyond loopback. */
export const TURNSERVER_PATH = process.env.TURNSERVER_PATH ?? "/usr/bin/turnserver";

/** A coturn on loopback, with the TURN REST API's shared secret (`use-auth-secret`). */
export interface Coturn {
  /** The URL for `TURN_URLS`: `turn:127.0.0.1:<port>?transport=udp`. */
  url: string;
  port: number;
  /** Kills the server (its allocations die with it), as a crash would. */
  stop(): Promise<void>;
  /** Starts it again on the same port, with no memory of earlier allocations. */
  start(): Promise<void>;
  /** Everything it logged, for failure messages. */
  output(): string;
}

/**
 * Starts coturn on 127.0.0.1 with `static-auth-secret` = `secret` (the server's `TURN_SECRET`), so
 * that it accepts exactly the credentials `GET /ice-servers` mints, and relays between peers on
 * loopback. Stop it with `stop()` (and start again with `start()`); `close()` for good.
 *
 * @example
 * const turn = await startCoturn("turn-secret");
 * const server = await startDevServer({ vars: { TURN_URLS: turn.url, TURN_SECRET: "turn-secret" } });
 */
export async function startCoturn(secret: string): Promise<Coturn & { close(): Promise<void> }> {
  if (!existsSync(TURNSERVER_PATH)) {
    throw new Error(
      `No coturn at ${TURNSERVER_PATH}: install Debian's coturn (apt-get install coturn), as .ci/run does`,
    );
  }
  const port = await freeUdpPort();
  const dir = await mkdtemp(join(tmpdir(), "edge-signaling-coturn-"));
  let child: ChildProcess | null = null;
  let output = "";
  const args = [
    "-n", // no configuration file
    "--listening-ip=127.0.0.1",
    "--relay-ip=127.0.0.1",
    `--listening-port=${port}`,
    "--min-port=49160",
    "--max-port=49400",
    "--use-auth-secret",
    `--static-auth-secret=${secret}`,
    "--realm=edge-signaling.test",
    "--allow-loopback-peers",
    "--no-tls",
    "--no-dtls",
    "--no-cli",
    "--fingerprint",
    `--pidfile=${join(dir, "turnserver.pid")}`,
    "--log-file=stdout",
    "--simple-log",
  ];
  const start = async () => {
    const started = spawn(TURNSERVER_PATH, args, { stdio: ["ignore", "pipe", "pipe"] });
    child = started;
    started.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    started.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    // Ready once it logs that it listens on our port (a UDP listener gives no other sign).
    const deadline = Date.now() + 10_000;
    while (!/listener opened on\s*:?\s*127\.0\.0\.1:\d+/i.test(output) && !output.includes("Total General servers")) {
      if (started.exitCode !== null) throw new Error(`coturn exited with ${started.exitCode}:\n${output}`);
      if (Date.now() > deadline) throw new Error(`coturn did not start within 10 s:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  };
  const stop = async () => {
    const running = child;
    child = null;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once("exit", resolve));
    running.kill("SIGKILL");
    await exited;
  };
  await start();
  return {
    url: `turn:127.0.0.1:${port}?transport=udp`,
    port,
    stop,
    start,
    output: () => output,
    async close() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket("udp4");
    socket.on("error", reject);
    socket.bind(0, "127.0.0.1", () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}
