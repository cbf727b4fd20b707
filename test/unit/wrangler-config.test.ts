import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { unstable_readConfig } from "wrangler";

/**
 * wrangler.toml settings whose effect only a deployed worker shows. Under
 * `wrangler dev` the local proxy answers the client's permessage-deflate offer
 * itself, whatever the worker's flags, so no local socket can tell; the
 * configuration is what can be checked.
 */
describe("wrangler.toml", () => {
  const config = unstable_readConfig({ config: resolve(import.meta.dirname, "../../wrangler.toml") });

  it("declines permessage-deflate in a deployed worker (no_web_socket_compression, and not its opposite)", () => {
    expect(config.compatibility_flags).toContain("no_web_socket_compression");
    expect(config.compatibility_flags).not.toContain("web_socket_compression");
  });
});
