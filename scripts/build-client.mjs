// Builds the client library (src/client/) into public/client.js, one ES module with
// socket.io-client bundled in, so that a page can `import { connect } from "/client.js"`
// with no bundler; the worker's [assets] serve it. Run by scripts/vendor.mjs, so by
// `npm start`, `npm test`, `npm run deploy` and the end-to-end harness; not committed.
// esbuild comes with wrangler. A file already up to date is left alone, so a run while
// `wrangler dev` serves public/ does not make it reload its assets.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Builds public/client.js (and its source map); returns the paths written. */
export async function buildClient() {
  const result = await build({
    entryPoints: [join(root, "src/client/index.ts")],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    sourcemap: "external",
    outfile: join(root, "public/client.js"),
    write: false,
    logLevel: "warning",
    legalComments: "eof",
  });
  const written = [];
  for (const file of result.outputFiles) {
    if (!sameContent(file.path, file.contents)) {
      writeFileSync(file.path, file.contents);
      written.push(file.path);
    }
  }
  return written;
}

function sameContent(path, contents) {
  try {
    return readFileSync(path).equals(Buffer.from(contents));
  } catch {
    return false; // not built yet
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildClient();
