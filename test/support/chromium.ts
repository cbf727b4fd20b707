import { existsSync } from "node:fs";
import { type AddressInfo, connect, createServer, type Socket } from "node:net";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";

/** Debian's Chromium, which .ci/run installs; tests never download a browser. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/**
 * Headless Chromium with fake camera and microphone, allowed to use them
 * without asking, and with plain host ICE candidates (no mDNS names) so that
 * two pages on one machine connect over loopback or the local address.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `No Chromium at ${CHROMIUM_PATH}: install Debian's chromium (apt-get install chromium), as .ci/run does`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      "--no-sandbox",
      "--use-fake-device-for-media-stream",
      "--use-fake-ui-for-media-stream",
      "--disable-features=WebRtcHideLocalIpsWithMdns",
      "--allow-loopback-in-peer-connection",
      // This machine has no internet: keep Chromium from trying.
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-quic",
      "--no-first-run",
      "--disable-gpu",
    ],
  });
}

/**
 * Everything a page complained about, as it happens: uncaught errors, console
 * errors, and answers of 400 or more (a missing file is a 404 in the console).
 *
 * @example
 * const problems = collectProblems(page);
 * // ... drive the page ...
 * expect(problems).toEqual([]);
 */
export function collectProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(`uncaught: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console: ${message.text()}`);
  });
  page.on("response", (response) => {
    if (response.status() >= 400) problems.push(`${response.status()} ${response.url()}`);
  });
  return problems;
}

/** Makes the context's pages find no camera and no microphone, as on a machine without them. */
export async function withoutCamera(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    navigator.mediaDevices.getUserMedia = () =>
      Promise.reject(new DOMException("Requested device not found", "NotFoundError"));
  });
}

/** A way to the server that a test can cut, as a network would. */
export interface NetworkSwitch {
  /** The switch's origin (`http://127.0.0.1:<port>`): open the page here, and all its traffic goes through it. */
  url: string;
  /**
   * Cuts every open connection at the TCP level (no WebSocket close frame, no Socket.IO goodbye:
   * both the page and the server see a dropped connection) and holds new ones until `restore`.
   */
  cut(): void;
  /** Lets held and new connections through; the page's own reconnection finds its way back. */
  restore(): void;
  close(): Promise<void>;
}

/**
 * A TCP proxy to `target` (a server's origin) that can be cut while a page's WebRTC media, which
 * does not go through the server, carries on. Bytes pass unchanged and at once, so a page's last
 * message before it unloads (its Socket.IO goodbye) arrives as it would without the proxy.
 * Connections opened while it is cut wait, unanswered, for `restore` (not refused: a refused
 * WebSocket is a console error in Chromium); keep a cut under socket.io's connect timeout.
 *
 * @example
 * const net = await networkSwitch(server.url);
 * await page.goto(`${net.url}/demo`);
 * net.cut(); // ... net.restore();
 */
export async function networkSwitch(target: string): Promise<NetworkSwitch> {
  const { hostname, port } = new URL(target);
  let down = false;
  const open = new Set<Socket>();
  const held = new Set<Socket>();
  const pass = (client: Socket) => {
    const upstream = connect(Number(port), hostname);
    open.add(client).add(upstream);
    const end = () => {
      for (const socket of [client, upstream]) {
        open.delete(socket);
        socket.destroy();
      }
    };
    for (const socket of [client, upstream]) socket.on("error", end).on("close", end);
    client.pipe(upstream).pipe(client);
  };
  const proxy = createServer((client) => {
    client.on("error", () => client.destroy());
    if (!down) return pass(client);
    client.pause();
    held.add(client);
    client.on("close", () => held.delete(client));
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    cut() {
      down = true;
      for (const socket of open) socket.destroy();
      open.clear();
    },
    restore() {
      down = false;
      for (const client of held) {
        client.removeAllListeners("close");
        pass(client);
        client.resume();
      }
      held.clear();
    },
    async close() {
      for (const socket of [...open, ...held]) socket.destroy();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    },
  };
}

/**
 * The text frames a page sends on its WebSockets from now on, oldest first, as the browser reports
 * them (Engine.IO framing: `42[...]` is a Socket.IO event).
 */
export function sentFrames(page: Page): string[] {
  const frames: string[] = [];
  page.on("websocket", (ws) => {
    ws.on("framesent", ({ payload }) => {
      if (typeof payload === "string") frames.push(payload);
    });
  });
  return frames;
}
