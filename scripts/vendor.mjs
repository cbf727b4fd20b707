// Copies the browser build of socket.io-client from node_modules into
// public/vendor/, so the demo page loads the exact client version the
// lockfile pins. Run by `npm start`, `npm test` and the end-to-end harness
// (test/support/wrangler-dev.ts) before `wrangler dev` starts; the output is
// not committed. It is not a [build] command in wrangler.toml: wrangler 4.86
// runs those twice per start (see the comment there).
// A file already up to date is left alone, so a run while `wrangler dev`
// serves public/ does not make it reload its assets.
// It also builds the client library into public/client.js (scripts/build-client.mjs).
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildClient } from "./build-client.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
// The package exports no dist/ path, so find the package root from its manifest.
const dist = join(dirname(require.resolve("socket.io-client/package.json")), "dist");
const out = join(root, "public", "vendor");
mkdirSync(out, { recursive: true });
for (const file of ["socket.io.min.js", "socket.io.min.js.map"]) {
  const from = join(dist, file);
  const to = join(out, file);
  if (!sameContent(from, to)) copyFileSync(from, to);
}

await buildClient();

function sameContent(a, b) {
  try {
    return readFileSync(a).equals(readFileSync(b));
  } catch {
    return false; // b does not exist yet
  }
}
