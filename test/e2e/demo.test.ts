import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  collectProblems,
  launchChromium,
  type NetworkSwitch,
  networkSwitch,
  sentFrames,
  withoutCamera,
} from "../support/chromium";
import { type DevServer, startDevServer } from "../support/wrangler-dev";

// `npm run screenshot` points this at docs/demo-screenshot.png, the README's picture;
// plain test runs leave the working tree alone.
const SCREENSHOT = resolve(process.env.DEMO_SCREENSHOT ?? join(tmpdir(), "edge-signaling-demo.png"));

const DESKTOP = { width: 1100, height: 760 };
/** The recovery window of the server that the window-expiry test uses (the default is 30 s). */
const SHORT_WINDOW_MS = 3_000;
const PHONE = { width: 390, height: 844 };

/** The page's test hooks (window.demo in public/scripts/demo.js). */
interface DemoHooks {
  socketId(): string | undefined;
  recovered(): boolean;
  links(): { id: string; current: boolean; away: boolean }[];
  framesDecoded(): Promise<Record<string, number>>;
  liveTracks(): number;
}

interface Demo {
  page: Page;
  /** Uncaught errors, console errors and failed requests (a 404 included), as they happen. */
  problems: string[];
  /** The origin the page was opened at: the server's, or for a `cuttable` page its switch's. */
  origin: string;
  /** Only for pages opened with `cuttable`: the page reaches the server through it. */
  network: NetworkSwitch | null;
  /** The text frames the page sent on its WebSockets, oldest first. */
  sent: string[];
}

describe("the /demo page in headless Chromium", () => {
  let server: DevServer;
  /** The same server with a short recovery window, for a drop that outlasts it. */
  let shortWindow: DevServer;
  let browser: Browser;
  /** The network switches of the pages opened `cuttable`. */
  const switches: NetworkSwitch[] = [];

  beforeAll(async () => {
    [server, shortWindow, browser] = await Promise.all([
      startDevServer(),
      startDevServer({ vars: { RECOVERY_WINDOW_MS: String(SHORT_WINDOW_MS) } }),
      launchChromium(),
    ]);
  });
  afterAll(async () => {
    await browser?.close();
    await Promise.all([server?.stop(), shortWindow?.stop(), ...switches.map((network) => network.close())]);
  });

  const opened = new Map<string, Page>();

  /** What each page told its user: on a failure, usually the reason. */
  async function pageMessages(): Promise<string> {
    const lines: string[] = [];
    for (const [name, page] of opened) {
      const items = await page
        .locator("#messages li, #history li")
        .allTextContents()
        .catch(() => ["(page gone)"]);
      lines.push(`${name}'s page said: ${items.join(" | ")}`);
    }
    return lines.join("\n");
  }

  async function openDemo(
    name: string,
    options: {
      path?: string;
      viewport?: typeof DESKTOP;
      noCamera?: boolean;
      cuttable?: boolean;
      server?: DevServer;
    } = {},
  ): Promise<Demo> {
    const context = await browser.newContext({ viewport: options.viewport ?? DESKTOP });
    if (options.noCamera) await withoutCamera(context);
    const page = await context.newPage();
    const problems = collectProblems(page);
    const sent = sentFrames(page);
    const target = (options.server ?? server).url;
    const network = options.cuttable ? await networkSwitch(target) : null;
    if (network) switches.push(network);
    const origin = network?.url ?? target;
    opened.set(name, page);
    await page.goto(`${origin}${options.path ?? "/demo"}`);
    await page.fill("#name", name);
    // The lobby's buttons are enabled once the page holds an app token.
    await page.locator("#join:enabled").waitFor({ timeout: 20_000 });
    return { page, problems, origin, network, sent };
  }

  const framesFrom = (page: Page, peerId: string) =>
    page.evaluate(
      async (id) => (await (window as unknown as { demo: DemoHooks }).demo.framesDecoded())[id] ?? 0,
      peerId,
    );
  const socketId = (page: Page) => page.evaluate(() => (window as unknown as { demo: DemoHooks }).demo.socketId());
  /** socket.io's `socket.recovered` on the page: its last connect resumed its session. */
  const recovered = (page: Page) => page.evaluate(() => (window as unknown as { demo: DemoHooks }).demo.recovered());
  /** The page's media links: id, whether the server still counts that peer in, whether it is "reconnecting…". */
  const links = (page: Page) =>
    page.evaluate(() =>
      (window as unknown as { demo: DemoHooks }).demo.links().map(({ id, current, away }) => ({ id, current, away })),
    );
  /** Notices with this text, on screen or moved to "Earlier messages". */
  const said = (page: Page, text: string) => page.locator("#messages li, #history li", { hasText: text }).count();
  const remoteTiles = (page: Page) => page.locator("#videos .tile[data-peer]:visible");
  const requests = (page: Page) => page.locator("#requests li");
  /** Socket.IO events (not their arguments) among frames a page sent. */
  const eventNames = (frames: string[]) =>
    frames.filter((frame) => frame.startsWith("42")).map((frame) => /^42(?:\d+)?\["([^"]+)"/.exec(frame)?.[1]);
  const badge = (page: Page, peerId: string, key: string) =>
    page.locator(`#videos .tile[data-peer="${peerId}"] .badge[data-badge="${key}"]`);

  /** Waits until `page` has decoded video from `peerId` and keeps decoding more. */
  async function expectVideoFlowing(page: Page, peerId: string) {
    await expect.poll(() => framesFrom(page, peerId), { timeout: 30_000, interval: 250 }).toBeGreaterThan(5);
    const before = await framesFrom(page, peerId);
    await expect.poll(() => framesFrom(page, peerId), { timeout: 10_000, interval: 250 }).toBeGreaterThan(before + 5);
  }

  /** Waits until `page` has a socket id again, after a drop or a reload. */
  async function newSocketId(page: Page, old: string | undefined): Promise<string> {
    await expect.poll(() => socketId(page), { timeout: 30_000 }).not.toBe(old);
    await expect.poll(() => socketId(page), { timeout: 30_000 }).toBeTruthy();
    return (await socketId(page)) as string;
  }

  it("shares a room by link, turns a peer away, keeps the call through a lost server (recovered) and a reload, and shows a peer leaving", {
    timeout: 240_000,
  }, async ({ onTestFailed }) => {
    onTestFailed(async () => console.error(await pageMessages()));
    const room = `demo-${Date.now()}`;
    const link = `${server.url}/demo?room=${room}`;

    // Ann creates the room; the address becomes its link, and Copy link puts it on the clipboard.
    const ann = await openDemo("Ann");
    await ann.page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.url });
    await ann.page.fill("#room", room);
    await ann.page.click("#create");
    await expect.poll(() => ann.page.textContent("#room-name"), { timeout: 20_000 }).toBe(room);
    expect(await ann.page.isVisible("#call")).toBe(true);
    expect(await ann.page.isVisible("#lobby")).toBe(false);
    expect(await ann.page.textContent("#role")).toBe("(you own it)");
    expect(ann.page.url()).toBe(link);
    await ann.page.click("#copy-link");
    expect(await ann.page.evaluate(() => navigator.clipboard.readText())).toBe(link);

    // Bob opens the link: the room is filled in, and Enter asks to join it.
    const bob = await openDemo("Bob", { path: `/demo?room=${room}`, cuttable: true });
    expect(await bob.page.inputValue("#room")).toBe(room);
    expect(await bob.page.isVisible("#invite")).toBe(true);
    await bob.page.press("#name", "Enter");
    await expect.poll(() => bob.page.textContent("#role"), { timeout: 20_000 }).toBe("(waiting for the owner)");

    // Ann sees Bob's request in the page and accepts it.
    const request = ann.page.locator("#requests li", { hasText: "Bob asks to join" });
    await request.waitFor({ timeout: 30_000 });
    await request.locator("button.accept").click();

    const [annId, bobId] = [(await socketId(ann.page)) as string, (await socketId(bob.page)) as string];
    await Promise.all([expectVideoFlowing(ann.page, bobId), expectVideoFlowing(bob.page, annId)]);
    await expect
      .poll(() => ann.page.textContent(`#videos .tile[data-peer="${bobId}"] figcaption`), { timeout: 20_000 })
      .toBe("Bob");
    await expect
      .poll(() => bob.page.textContent(`#videos .tile[data-peer="${annId}"] figcaption`), { timeout: 20_000 })
      .toBe("Ann");

    mkdirSync(resolve(SCREENSHOT, ".."), { recursive: true });
    await ann.page.screenshot({ path: SCREENSHOT });

    // Ann mutes and turns her camera off: Bob's tile of her says so (over their data channel), and stops saying so.
    await ann.page.click("#mute");
    await ann.page.click("#camera");
    await badge(bob.page, annId, "muted").waitFor({ timeout: 10_000 });
    await badge(bob.page, annId, "camera-off").waitFor({ timeout: 10_000 });
    await ann.page.click("#mute");
    await ann.page.click("#camera");
    await expect.poll(() => bob.page.locator(`#videos .tile[data-peer="${annId}"] .badge`).count()).toBe(0);

    // Cid asks for a room that does not exist (refused by an event and by the ack: said once),
    // then for Ann's room; Ann rejects; the page says so.
    const cid = await openDemo("Cid", { path: `/demo?room=${room}` });
    await cid.page.fill("#room", `${room}-nowhere`);
    await cid.page.click("#join");
    await cid.page.locator("#messages li.error", { hasText: "Room not found" }).waitFor({ timeout: 20_000 });
    // A room that does not exist is not left in the address (a reload would offer it again).
    await expect.poll(() => cid.page.url(), { timeout: 10_000 }).toBe(`${cid.origin}/demo`);
    await cid.page.fill("#room", room);
    await cid.page.click("#join");
    const third = ann.page.locator("#requests li", { hasText: "Cid asks to join" });
    await third.waitFor({ timeout: 30_000 });
    await third.locator("button.reject").click();
    await cid.page
      .locator("#messages li.error", { hasText: "Room owner rejected your request" })
      .waitFor({ timeout: 20_000 });
    expect(await cid.page.isVisible("#lobby")).toBe(true);
    expect(await said(cid.page, "Room not found")).toBe(1);
    expect(await said(cid.page, "Room owner rejected your request")).toBe(1);

    // Bob loses the server: his connection drops, without a goodbye. His page says so; the server keeps
    // his session for its recovery window, so Ann's page hears of nothing and marks nothing; the video
    // between them, which does not go through the server, keeps playing both ways.
    bob.network?.cut();
    await expect.poll(() => bob.page.getAttribute("#status", "data-state"), { timeout: 10_000 }).toBe("lost");
    expect(await bob.page.textContent("#role")).toBe("(reconnecting…)");
    const [annSaw, bobSaw] = [await framesFrom(ann.page, bobId), await framesFrom(bob.page, annId)];
    await expect
      .poll(() => framesFrom(ann.page, bobId), { timeout: 10_000, interval: 250 })
      .toBeGreaterThan(annSaw + 30);
    await expect
      .poll(() => framesFrom(bob.page, annId), { timeout: 10_000, interval: 250 })
      .toBeGreaterThan(bobSaw + 30);
    expect(await bob.page.getAttribute("#status", "data-state")).toBe("lost");
    expect(await socketId(bob.page)).toBeUndefined();
    expect(await links(ann.page)).toEqual([{ id: bobId, current: true, away: false }]);
    expect(await badge(ann.page, bobId, "away").count()).toBe(0);

    // The server is back within the window: Bob's session is recovered, with the same socket id and
    // room. His page sends no auth-request and asks for nothing, Ann gets no join request, and the
    // same media connection (its frame count never went back to zero) goes on, one per side.
    const sentBefore = bob.sent.length;
    expect(eventNames(bob.sent)).toContain("auth-request"); // what the page sent is seen
    bob.network?.restore();
    expect(await newSocketId(bob.page, undefined)).toBe(bobId);
    expect(await recovered(bob.page)).toBe(true);
    await expect.poll(() => bob.page.getAttribute("#status", "data-state"), { timeout: 10_000 }).toBe("connected");
    expect(await bob.page.textContent("#role")).toBe("");
    await Promise.all([expectVideoFlowing(ann.page, bobId), expectVideoFlowing(bob.page, annId)]);
    expect(await framesFrom(ann.page, bobId)).toBeGreaterThan(annSaw + 30);
    expect(await framesFrom(bob.page, annId)).toBeGreaterThan(bobSaw + 30);
    for (const [page, peer] of [
      [ann.page, bobId],
      [bob.page, annId],
    ] as const) {
      expect(await links(page)).toEqual([{ id: peer, current: true, away: false }]);
      expect(await remoteTiles(page).count()).toBe(1);
      expect(await remoteTiles(page).getAttribute("data-peer")).toBe(peer);
    }
    const sentSince = eventNames(bob.sent.slice(sentBefore));
    for (const asked of ["auth-request", "room-join-request", "room-create-request"]) {
      expect(sentSince).not.toContain(asked);
    }
    expect(await requests(ann.page).count()).toBe(0);
    expect(await said(ann.page, "Bob is back")).toBe(0);
    expect(await said(ann.page, "Bob lost the server connection")).toBe(0);
    expect(await said(bob.page, "Reconnected to the server")).toBe(1);

    // Bob reloads: his name is remembered and his page asks to come back; Ann accepts.
    await bob.page.reload();
    const back = ann.page.locator("#requests li", { hasText: "Bob asks to join" });
    await back.waitFor({ timeout: 30_000 });
    expect(await bob.page.inputValue("#name")).toBe("Bob");
    await expect.poll(() => bob.page.textContent("#role"), { timeout: 10_000 }).toBe("(waiting for the owner)");
    await back.locator("button.accept").click();
    const bobReloaded = await newSocketId(bob.page, bobId);
    expect(await recovered(bob.page)).toBe(false);
    await Promise.all([expectVideoFlowing(ann.page, bobReloaded), expectVideoFlowing(bob.page, annId)]);

    // Bob leaves; Ann sees him go (the second time: the reload was the first), and his address forgets the room.
    // His camera and microphone are off: no track he captured is live.
    await bob.page.click("#leave");
    await expect
      .poll(() => bob.page.evaluate(() => (window as unknown as { demo: DemoHooks }).demo.liveTracks()))
      .toBe(0);
    await expect.poll(() => said(ann.page, "Bob left"), { timeout: 20_000 }).toBe(2);
    await expect.poll(() => remoteTiles(ann.page).count(), { timeout: 20_000 }).toBe(0);
    // His page forgets the room once the server answered his leave, which may be after Ann heard of it.
    await expect.poll(() => bob.page.url(), { timeout: 10_000 }).toBe(`${bob.origin}/demo`);
    expect(await said(ann.page, "Bob lost the server connection")).toBe(0);

    // Ann, alone, reloads: her page takes the room again, without a click.
    await ann.page.reload();
    await expect.poll(() => ann.page.textContent("#role"), { timeout: 30_000 }).toBe("(you own it)");
    expect(await ann.page.textContent("#room-name")).toBe(room);

    for (const demo of [ann, bob, cid]) expect(demo.problems).toEqual([]);
  });

  it("lets a peer whose server connection stays down past the recovery window back in under a new id, without asking the owner again", {
    timeout: 90_000,
  }, async ({ onTestFailed }) => {
    onTestFailed(async () => console.error(await pageMessages()));
    const room = `window-${Date.now()}`;
    const fay = await openDemo("Fay", { server: shortWindow });
    await fay.page.fill("#room", room);
    await fay.page.click("#create");
    await expect.poll(() => fay.page.textContent("#role"), { timeout: 20_000 }).toBe("(you own it)");
    const gus = await openDemo("Gus", { server: shortWindow, path: `/demo?room=${room}`, cuttable: true });
    await gus.page.click("#join");
    const request = fay.page.locator("#requests li", { hasText: "Gus asks to join" });
    await request.waitFor({ timeout: 30_000 });
    await request.locator("button.accept").click();
    const [fayId, gusId] = [(await socketId(fay.page)) as string, (await socketId(gus.page)) as string];
    await Promise.all([expectVideoFlowing(fay.page, gusId), expectVideoFlowing(gus.page, fayId)]);

    // Gus stays away past the window: then the server lets his session go and Fay's page hears that
    // he left, while his video still plays; it marks him "reconnecting…".
    gus.network?.cut();
    await badge(fay.page, gusId, "away").waitFor({ timeout: SHORT_WINDOW_MS + 10_000 });
    await expectVideoFlowing(fay.page, gusId);
    expect(await gus.page.textContent("#role")).toBe("(reconnecting…)");

    // Back, Gus is a new peer (not recovered, a new id): his page authenticates and asks for the room
    // again, and Fay's page lets him in without a click (his page told hers over their media link);
    // new media connections replace the old ones.
    const sentBefore = gus.sent.length;
    gus.network?.restore();
    const gusAgain = await newSocketId(gus.page, undefined);
    expect(gusAgain).not.toBe(gusId);
    expect(await recovered(gus.page)).toBe(false);
    for (const [page, peer] of [
      [fay.page, gusAgain],
      [gus.page, fayId],
    ] as const) {
      await expect.poll(() => links(page), { timeout: 30_000 }).toEqual([{ id: peer, current: true, away: false }]);
      await expect.poll(() => remoteTiles(page).count(), { timeout: 10_000 }).toBe(1);
      expect(await remoteTiles(page).getAttribute("data-peer")).toBe(peer);
    }
    await Promise.all([expectVideoFlowing(fay.page, gusAgain), expectVideoFlowing(gus.page, fayId)]);
    expect(await gus.page.textContent("#role")).toBe("");
    expect(await requests(fay.page).count()).toBe(0);
    const sentSince = eventNames(gus.sent.slice(sentBefore));
    expect(sentSince).toContain("auth-request");
    expect(sentSince).toContain("room-join-request");
    expect(await said(fay.page, "Gus is back")).toBe(1);
    // The "lost" notice waits a moment after the leave, in case he is back at once: said once at most.
    expect(await said(fay.page, "Gus lost the server connection")).toBeLessThanOrEqual(1);

    for (const demo of [fay, gus]) expect(demo.problems).toEqual([]);
  });

  it("shows a join request on a phone however far the owner has scrolled; a peer without a camera cannot press Mute or Camera off, and the owner sees it has none (not that it muted)", {
    timeout: 120_000,
  }, async ({ onTestFailed }) => {
    onTestFailed(async () => console.error(await pageMessages()));
    const room = `phone-${Date.now()}`;

    const dan = await openDemo("Dan", { viewport: PHONE });
    await dan.page.fill("#room", room);
    await dan.page.click("#create");
    await expect.poll(() => dan.page.textContent("#room-name"), { timeout: 20_000 }).toBe(room);
    // As far down a long page as it goes.
    await dan.page.evaluate(() => {
      document.body.style.minHeight = "4000px";
      window.scrollTo(0, document.body.scrollHeight);
    });
    expect(await dan.page.evaluate(() => window.scrollY)).toBeGreaterThan(2_000);

    const eve = await openDemo("Eve", { path: `/demo?room=${room}`, noCamera: true });
    await eve.page.click("#join");
    await expect.poll(() => eve.page.textContent("#role"), { timeout: 20_000 }).toBe("(waiting for the owner)");
    expect(await eve.page.isDisabled("#mute")).toBe(true);
    expect(await eve.page.isDisabled("#camera")).toBe(true);

    const request = dan.page.locator("#requests li", { hasText: "Eve asks to join" });
    await request.waitFor({ timeout: 30_000 });
    const box = await request.boundingBox();
    expect(box).not.toBeNull();
    expect(box?.y).toBeGreaterThanOrEqual(0);
    expect((box?.y ?? 0) + (box?.height ?? 0)).toBeLessThanOrEqual(PHONE.height);
    await request.locator("button.accept").click();

    const [danId, eveId] = [(await socketId(dan.page)) as string, (await socketId(eve.page)) as string];
    await expectVideoFlowing(eve.page, danId);
    await badge(dan.page, eveId, "no-microphone").waitFor({ timeout: 20_000 });
    await badge(dan.page, eveId, "no-camera").waitFor({ timeout: 20_000 });
    expect(await badge(dan.page, eveId, "muted").count()).toBe(0);
    expect(await badge(dan.page, eveId, "camera-off").count()).toBe(0);

    for (const demo of [dan, eve]) expect(demo.problems).toEqual([]);
  });
});
