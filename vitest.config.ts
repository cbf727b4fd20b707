import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

// A green run is quiet. The worker pool reads wrangler.toml once per test file,
// and wrangler then logs "Using secrets defined in .dev.vars" each time; its log
// level comes from WRANGLER_LOG. The e2e harness sets its own for `wrangler dev`.
process.env.WRANGLER_LOG ??= "warn";

/** Prints the output of `wrangler dev` for a failing test (DEBUG_WRANGLER=1: always). */
const wranglerOutputOnFailure = "test/support/wrangler-output-on-failure.ts";

/**
 * Three suites, all run by `npm test`:
 * - unit:   pure code (protocol, rules, tokens) in Node, milliseconds each;
 * - worker: the worker and its Durable Objects inside workerd (Miniflare);
 * - e2e:    `wrangler dev` started for real and driven over TCP from Node.
 */
export default defineConfig({
  test: {
    // Console output of a test (the worker's JSON log lines, config warnings)
    // is shown when that test fails, not for passing ones. A reporter setting: root only.
    silent: "passed-only",
    projects: [
      {
        test: { name: "unit", include: ["test/unit/**/*.test.ts"], environment: "node", sequence: { groupOrder: 0 } },
      },
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            // Heartbeat tests run alarms back to back: give pongs 1 ms, not 30 s, before they are judged.
            miniflare: { bindings: { PING_TIMEOUT_MS: "1" } },
          }),
        ],
        test: {
          name: "worker",
          include: ["test/worker/**/*.test.ts"],
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          exclude: ["test/e2e/demo.test.ts"],
          environment: "node",
          setupFiles: [wranglerOutputOnFailure],
          testTimeout: 30_000,
          hookTimeout: 60_000,
          // Each file starts its own wrangler dev; two at once are plenty on 2 cores.
          maxWorkers: 2,
          // After the fast suites, so a broken build fails in seconds.
          sequence: { groupOrder: 2 },
        },
      },
      {
        // Chromium and two wrangler-driven pages are heavy on 2 cores: run alone, last.
        test: {
          name: "browser",
          include: ["test/e2e/demo.test.ts", "test/browser/**/*.test.ts"],
          environment: "node",
          setupFiles: [wranglerOutputOnFailure],
          testTimeout: 120_000,
          hookTimeout: 60_000,
          maxWorkers: 1,
          sequence: { groupOrder: 3 },
        },
      },
    ],
  },
});
