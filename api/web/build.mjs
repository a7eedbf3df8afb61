// Bundles the pages' script and style with esbuild into the folder given as the first
// argument (api/build.rs passes OUT_DIR/web): app.js, the chunks it loads when a page has a map
// or a chart, and app.css. It copies MapLibre's worker beside them and writes a gzip copy of
// each (the server sends it to browsers that accept gzip: a quarter the bytes).
// Everything is served by the binary from /assets/: no CDN, no third-party request.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { constants, gzipSync } from "node:zlib";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2];
if (!out) {
  console.error("usage: node build.mjs <output folder>");
  process.exit(2);
}
// Old chunks (their names carry their hash) must not linger: api/build.rs embeds every file here.
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [
    { in: join(here, "src/app.js"), out: "app" },
    { in: join(here, "src/app.css"), out: "app" },
  ],
  outdir: out,
  bundle: true,
  format: "esm",
  splitting: true,
  chunkNames: "chunk-[hash]",
  minify: true,
  target: ["es2022"],
  legalComments: "eof",
  logLevel: "warning",
});
copyFileSync(
  join(here, "node_modules/maplibre-gl/dist/maplibre-gl-worker.mjs"),
  join(out, "maplibre-gl-worker.mjs"),
);
for (const name of readdirSync(out)) {
  const bytes = readFileSync(join(out, name));
  writeFileSync(join(out, `${name}.gz`), gzipSync(bytes, { level: constants.Z_BEST_COMPRESSION }));
}
