// Copies the browser build of socket.io-client from node_modules into
// public/vendor/, so the demo page loads the exact client version the
// lockfile pins. Run by wrangler before `wrangler dev` / `wrangler deploy`
// ([build] in wrangler.toml) and by `npm test`; the output is not committed.
import { copyFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
// The package exports no dist/ path, so find the package root from its manifest.
const dist = join(dirname(require.resolve("socket.io-client/package.json")), "dist");
const out = join(root, "public", "vendor");
mkdirSync(out, { recursive: true });
for (const file of ["socket.io.min.js", "socket.io.min.js.map"]) copyFileSync(join(dist, file), join(out, file));
