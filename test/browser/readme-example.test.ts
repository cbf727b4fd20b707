import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchAppToken } from "../support/app-token";
import { collectProblems, launchChromium } from "../support/chromium";
import { TEST_APP } from "../support/dev-server-suite";
import { type DevServer, startDevServer } from "../support/wrangler-dev";

/**
 * The README's example ("The client library"), as a newcomer pastes it into a page: the owner's
 * version as written, and Bob's with the `joinRoom` line its comment gives. The code is read from
 * README.md, so the test follows the documentation.
 */
function readmeExample(): string {
  const readme = readFileSync(resolve(import.meta.dirname, "../../README.md"), "utf8");
  const start = readme.indexOf('```js\nimport { connect } from "/client.js";');
  if (start < 0) throw new Error("README: the client library's example is gone");
  const code = readme.slice(start + "```js\n".length, readme.indexOf("```", start + 5));
  // The example ends with a leave "later": the test leaves when it chooses.
  return code
    .replace(/^\/\/ \.\.\. later.*$/m, "")
    .replace(/^await room\.leave\(\);$/m, "window.example = { client, room };");
}

/** Bob's version: the line with `createRoom` replaced by the `joinRoom` call its comment gives. */
function asJoiner(code: string): string {
  const line = code.split("\n").find((l) => l.includes("client.createRoom("));
  const bob = line?.match(/\/\/ Bob: (.*)$/)?.[1];
  if (!line || !bob) throw new Error("README: the example no longer says what Bob runs");
  return code.replace(line, `const room = ${bob};`);
}

describe("the README's client library example, in Chromium", () => {
  let server: DevServer;
  let browser: Browser;
  let token: string;

  beforeAll(async () => {
    [server, browser] = await Promise.all([startDevServer(), launchChromium()]);
    token = await fetchAppToken(server.url, TEST_APP);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  /** A page that defines what the example leaves to the application (`appToken`, `show`, `hide`), then runs it. */
  async function run(code: string, room: string): Promise<{ page: Page; problems: string[] }> {
    const page = await (await browser.newContext()).newPage();
    const problems = collectProblems(page);
    await page.goto(`${server.url}/`);
    await page.evaluate((appToken) => {
      const w = window as unknown as Record<string, unknown>;
      w.appToken = appToken;
      w.shown = [] as string[];
      // The example passes the Peer (its id may change after a "back"); the test records its id.
      w.show = (peer: { id: string }) => (w.shown as string[]).push(peer.id);
      w.hide = () => undefined;
    }, token);
    await page.addScriptTag({ type: "module", content: code.replaceAll('"lobby"', JSON.stringify(room)) });
    await page.waitForFunction(() => "example" in window, null, { timeout: 20_000 });
    return { page, problems };
  }
  const idOf = (page: Page) =>
    page.evaluate(() => (window as unknown as { example: { client: { id: string } } }).example.client.id);
  const shown = (page: Page) => page.evaluate(() => (window as unknown as { shown: string[] }).shown);

  it("shows each side the other's media: the owner's and the joiner's version alike", async () => {
    const code = readmeExample();
    const room = `readme-${Date.now()}`;
    const ann = await run(code, room);
    const bob = await run(asJoiner(code), room);
    const [annId, bobId] = [await idOf(ann.page), await idOf(bob.page)];

    // Ann, who made the room, hears of Bob through "peer" and is shown his tracks.
    await expect.poll(() => shown(ann.page), { timeout: 20_000 }).toContain(bobId);
    // Bob, who joined, must be shown Ann's tracks too. Ann was in the room before joinRoom
    // resolved, so "peer" never announces her: the example must look at room.peers as well (the
    // README's first version listened to "peer" only, and Bob saw nothing).
    await expect.poll(() => shown(bob.page), { timeout: 20_000 }).toContain(annId);
    expect([...ann.problems, ...bob.problems]).toEqual([]);
  });
});
