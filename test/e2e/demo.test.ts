import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../support/chromium";
import { type DevServer, startDevServer } from "../support/wrangler-dev";

// `npm run screenshot` points this at docs/demo-screenshot.png, the README's picture;
// plain test runs leave the working tree alone.
const SCREENSHOT = resolve(process.env.DEMO_SCREENSHOT ?? join(tmpdir(), "edge-signaling-demo.png"));

describe("the /demo page in headless Chromium", () => {
  let server: DevServer;
  let browser: Browser;

  beforeAll(async () => {
    [server, browser] = await Promise.all([startDevServer(), launchChromium()]);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  const opened = new Map<string, Page>();

  /** What each page told its user: on a failure, usually the reason. */
  async function pageMessages(): Promise<string> {
    const lines: string[] = [];
    for (const [name, page] of opened) {
      const items = await page
        .locator("#messages li")
        .allTextContents()
        .catch(() => ["(page gone)"]);
      lines.push(`${name}'s page said: ${items.join(" | ")}`);
    }
    return lines.join("\n");
  }

  async function openDemo(name: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    opened.set(name, page);
    await page.goto(`${server.url}/demo`);
    await page.fill("#name", name);
    // The lobby's buttons are enabled once the page holds an app token.
    await page.locator("#create:enabled").waitFor({ timeout: 20_000 });
    (page as Page & { errors: string[] }).errors = errors;
    return page;
  }

  const framesFrom = (page: Page, peerId: string) =>
    page.evaluate(async (id) => {
      const demo = (window as unknown as { demo: { framesDecoded(): Promise<Record<string, number>> } }).demo;
      return (await demo.framesDecoded())[id] ?? 0;
    }, peerId);
  const socketId = (page: Page) =>
    page.evaluate(() => (window as unknown as { demo: { socketId(): string } }).demo.socketId());

  /** Waits until `page` has decoded video from `peerId` and keeps decoding more. */
  async function expectVideoFlowing(page: Page, peerId: string) {
    await expect.poll(() => framesFrom(page, peerId), { timeout: 30_000, interval: 250 }).toBeGreaterThan(5);
    const before = await framesFrom(page, peerId);
    await expect.poll(() => framesFrom(page, peerId), { timeout: 10_000, interval: 250 }).toBeGreaterThan(before + 5);
  }

  it("sets up a two-way video call, turns a third peer away, survives a dropped connection, and shows a peer leaving", {
    timeout: 120_000,
  }, async ({ onTestFailed }) => {
    onTestFailed(async () => console.error(await pageMessages()));
    const room = `demo-${Date.now()}`;

    const ann = await openDemo("Ann");
    await ann.fill("#room", room);
    await ann.click("#create");
    await expect.poll(() => ann.textContent("#room-name"), { timeout: 20_000 }).toBe(room);
    expect(await ann.isVisible("#call")).toBe(true);
    expect(await ann.isVisible("#lobby")).toBe(false);

    const bob = await openDemo("Bob");
    await bob.fill("#room", room);
    await bob.click("#join");

    // Ann sees Bob's request in the page and accepts it.
    const request = ann.locator("#requests li", { hasText: "Bob asks to join" });
    await request.waitFor({ timeout: 30_000 });
    await request.locator("button.accept").click();

    const [annId, bobId] = [await socketId(ann), await socketId(bob)];
    await Promise.all([expectVideoFlowing(ann, bobId), expectVideoFlowing(bob, annId)]);
    await expect
      .poll(() => ann.textContent(`#videos .tile[data-peer="${bobId}"] figcaption`), { timeout: 20_000 })
      .toBe("Bob");
    await expect
      .poll(() => bob.textContent(`#videos .tile[data-peer="${annId}"] figcaption`), { timeout: 20_000 })
      .toBe("Ann");

    mkdirSync(resolve(SCREENSHOT, ".."), { recursive: true });
    await ann.screenshot({ path: SCREENSHOT });

    // A third peer asks; Ann rejects; the page says so.
    const cid = await openDemo("Cid");
    await cid.fill("#room", room);
    await cid.click("#join");
    const third = ann.locator("#requests li", { hasText: "Cid asks to join" });
    await third.waitFor({ timeout: 30_000 });
    await third.locator("button.reject").click();
    await cid
      .locator("#messages li.error", { hasText: "Room owner rejected your request" })
      .waitFor({ timeout: 20_000 });
    expect(await cid.isVisible("#lobby")).toBe(true);

    // Bob's connection drops: Ann sees him go; his page reconnects by itself and asks to come back.
    await bob.evaluate(() => (window as unknown as { demo: { dropConnection(): void } }).demo.dropConnection());
    await ann.locator("#messages li", { hasText: "Bob left" }).waitFor({ timeout: 20_000 });
    const back = ann.locator("#requests li", { hasText: "Bob asks to join" });
    await back.waitFor({ timeout: 30_000 });
    await back.locator("button.accept").click();
    const bobAgain = await socketId(bob);
    expect(bobAgain).not.toBe(bobId);
    await Promise.all([expectVideoFlowing(ann, bobAgain), expectVideoFlowing(bob, annId)]);

    // Bob leaves; Ann sees him go.
    await bob.click("#leave");
    // The second "Bob left" (the first was the dropped connection).
    await expect.poll(() => ann.locator("#messages li", { hasText: "Bob left" }).count(), { timeout: 20_000 }).toBe(2);
    await expect.poll(() => ann.locator(`#videos .tile[data-peer="${bobAgain}"]`).count(), { timeout: 20_000 }).toBe(0);

    for (const page of [ann, bob, cid]) expect((page as Page & { errors: string[] }).errors).toEqual([]);
  });
});
