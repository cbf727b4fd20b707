import { once } from "node:events";
import { createServer, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevServer, freePort, startDevServer } from "../support/wrangler-dev";

/**
 * test/support/wrangler-dev.ts: a port picked free can be taken before
 * wrangler binds it (two test files starting servers at once). Here the first
 * ports handed out are taken on purpose, the server's and then the inspector's.
 */
describe("starting wrangler dev when its ports are taken under it", () => {
  let taken: Server;
  let takenPort: number;
  let server: DevServer | undefined;

  beforeAll(async () => {
    taken = createServer().listen(0, "127.0.0.1");
    await once(taken, "listening");
    takenPort = (taken.address() as { port: number }).port;
  });
  afterAll(async () => {
    await server?.stop();
    taken.close();
  });

  it("tries again on new ports, for a taken port and then a taken inspector port", { timeout: 60_000 }, async () => {
    // Attempt 1: port taken. Attempt 2: inspector port taken. Attempt 3: both free.
    const handedOut: number[] = [];
    const queue = [takenPort, await freePort(), await freePort(), takenPort];
    const pickPort = async () => {
      const port = queue.shift() ?? (await freePort());
      handedOut.push(port);
      return port;
    };
    server = await startDevServer({ pickPort });
    expect(handedOut).toHaveLength(6);
    expect(server.port).not.toBe(takenPort);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });
});
