// Bundles the pages' script and style with esbuild into the folder given as the first
// argument (api/build.rs passes OUT_DIR/web), and copies MapLibre's worker beside them.
// Everything is served by the binary from /assets/: no CDN, no third-party request.
import { build } from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2];
if (!out) {
  console.error("usage: node build.mjs <output folder>");
  process.exit(2);
}
mkdirSync(out, { recursive: true });
await build({
  entryPoints: { app: join(here, "src/app.js") },
  outdir: out,
  bundle: true,
  format: "esm",
  minify: true,
  target: ["es2022"],
  legalComments: "eof",
  logLevel: "warning",
});
copyFileSync(
  join(here, "node_modules/maplibre-gl/dist/maplibre-gl-worker.mjs"),
  join(out, "maplibre-gl-worker.mjs"),
);
