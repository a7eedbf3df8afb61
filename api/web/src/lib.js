// What the pages' scripts share: the test hook, the page language, DOM and fetch helpers,
// MapLibre's loader and the maps' base style.

// Exposed for the browser test, which reads the maps' and charts' state.
export const allmende = (window.allmende = { maps: [], charts: [] });

export const de = document.documentElement.lang !== "en";

export function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const c of children) node.append(c);
  return node;
}

export async function getJson(url) {
  const r = await fetch(url, { headers: { Accept: "application/json" } });
  if (!r.ok) throw new Error(`${r.status} ${url}`);
  return r.json();
}

let maplibregl;

// MapLibre, loaded on first use (its own chunk), with its worker from this server.
export async function loadMaplibre() {
  if (!maplibregl) {
    maplibregl = await import("maplibre-gl");
    maplibregl.setWorkerUrl(new URL("/assets/maplibre-gl-worker.mjs", location.href).href);
  }
  return maplibregl;
}

// The maps' style: a plain background, and the operator's raster basemap when configured.
export function mapStyle(basemap) {
  const style = {
    version: 8,
    sources: {},
    layers: [{ id: "background", type: "background", paint: { "background-color": "#eef1f4" } }],
  };
  if (basemap) {
    style.sources.basemap = { type: "raster", tiles: [basemap], tileSize: 256 };
    style.layers.push({ id: "basemap", type: "raster", source: "basemap" });
  }
  return style;
}
