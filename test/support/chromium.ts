import { existsSync } from "node:fs";
import { type Browser, type BrowserContext, chromium, type Page, type WebSocketRoute } from "playwright-core";

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

/** A switch on a page's Socket.IO WebSockets, to fail them as a network would. */
export interface SignalingSwitch {
  /** Closes the page's open sockets (the server sees them close) and fails every new one. */
  cut(): Promise<void>;
  /** Lets new sockets through again; the page's own reconnection finds its way back. */
  restore(): void;
}

/**
 * Routes a page's Socket.IO WebSockets through the test (messages pass unchanged) so that they can
 * be cut while the page's WebRTC media, which does not go through the server, carries on. Call it
 * before the page loads: only sockets opened afterwards are routed.
 */
export async function signalingSwitch(page: Page): Promise<SignalingSwitch> {
  let down = false;
  const open = new Set<{ page: WebSocketRoute; server: WebSocketRoute }>();
  await page.routeWebSocket(/\/socket\.io\//, (ws) => {
    if (down) {
      void ws.close().catch(() => {});
      return;
    }
    open.add({ page: ws, server: ws.connectToServer() });
  });
  return {
    async cut() {
      down = true;
      const sockets = [...open];
      open.clear();
      await Promise.all(
        sockets.flatMap(({ page, server }) => [page.close().catch(() => {}), server.close().catch(() => {})]),
      );
    },
    restore() {
      down = false;
    },
  };
}
