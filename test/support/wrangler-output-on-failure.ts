import { beforeEach } from "vitest";
import { runningDevServers } from "./wrangler-dev";

/**
 * A vitest setup file (vitest.config.ts, projects `e2e` and `browser`): when a
 * test fails, print what each running `wrangler dev` wrote while that test ran
 * (all of it for a server the test started itself). A green run prints nothing;
 * `DEBUG_WRANGLER=1` prints everything as it comes instead (test/support/wrangler-dev.ts).
 *
 * @example
 * // vitest.config.ts
 * test: { setupFiles: ["test/support/wrangler-output-on-failure.ts"] }
 */
beforeEach(({ onTestFailed }) => {
  const startedAt = new Map(runningDevServers().map((server) => [server, server.output().length]));
  onTestFailed(async () => {
    if (!["", "0", "false"].includes(process.env.DEBUG_WRANGLER ?? "")) return; // printed already
    // Lines the runtime wrote just before the failure may still be in the pipe.
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (const server of runningDevServers()) {
      const text = server.output().slice(startedAt.get(server) ?? 0);
      console.error(`--- wrangler dev ${server.url}, output during this test ---\n${text || "(none)\n"}--- end ---`);
    }
  });
});
