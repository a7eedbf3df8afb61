// The pages' behaviour. Every page works without it (server-rendered tables, forms, links);
// this adds the map, the chart, copy buttons and keyboard shortcuts. No inline scripts: the
// pages pass what these need in data-* attributes, and the Content-Security-Policy allows
// scripts, styles, workers and fetches from this server only.
//
// MapLibre and uPlot are loaded only by pages that have a map or a chart (esbuild splits them
// into chunks of their own), so the catalogue pages stay small on a phone.

import { allmende, de, el, getJson, loadMaplibre, mapStyle } from "./lib.js";

const text = {
  loading: de ? "Wird geladen …" : "Loading …",
  failed: de ? "Konnte nicht geladen werden" : "Could not be loaded",
  copy: de ? "Kopieren" : "Copy",
  copied: de ? "Kopiert" : "Copied",
  noRows: de ? "Keine Werte für diese Auswahl." : "No values for this selection.",
  feature: de ? "Objekt auf der Karte zeigen:" : "Show a feature on the map:",
};

function sqlUrl(q, format = "json") {
  return `/api/sql?format=${format}&q=${encodeURIComponent(q)}`;
}

const ident = (name) => `"${name.replaceAll('"', '""')}"`;
const literal = (value) => `'${String(value).replaceAll("'", "''")}'`;

// --- map -------------------------------------------------------------------------------

let maplibregl;

// A feature's properties, its name (the page's label column) as the caption.
function propertiesTable(properties, label) {
  const rows = Object.entries(properties).map(([k, v]) =>
    el("tr", {}, [el("th", { scope: "row" }, [k]), el("td", {}, [v === null ? "" : String(v)])]),
  );
  const name = label ? properties[label] : null;
  const caption = name === null || name === undefined ? [] : [el("caption", {}, [String(name)])];
  return el("table", { class: "popup" }, [...caption, el("tbody", {}, rows)]);
}

// The data's layers (polygons filled and outlined, lines, points as circles) on the source
// "data": GeoJSON, or vector tiles whose features are in `sourceLayer`. A click on a feature
// shows its properties, captioned by its `label` property.
function addDataLayers(map, sourceLayer, label) {
  const on = sourceLayer ? { source: "data", "source-layer": sourceLayer } : { source: "data" };
  map.addLayer({
    id: "data-fill", type: "fill", ...on,
    filter: ["==", ["geometry-type"], "Polygon"],
    paint: { "fill-color": "#0b6e99", "fill-opacity": 0.25 },
  });
  map.addLayer({
    id: "data-line", type: "line", ...on,
    filter: ["in", ["geometry-type"], ["literal", ["Polygon", "LineString"]]],
    paint: { "line-color": "#064a68", "line-width": 1.5 },
  });
  map.addLayer({
    id: "data-point", type: "circle", ...on,
    filter: ["==", ["geometry-type"], "Point"],
    paint: {
      "circle-color": "#c2410c", "circle-radius": 6,
      "circle-stroke-color": "#ffffff", "circle-stroke-width": 1.5,
    },
  });
  const layers = ["data-point", "data-line", "data-fill"];
  map.on("click", (e) => {
    const f = map.queryRenderedFeatures(e.point, { layers })[0];
    if (!f) return;
    new maplibregl.Popup({ maxWidth: "320px" })
      .setLngLat(e.lngLat)
      .setDOMContent(propertiesTable(f.properties, label))
      .addTo(map);
  });
  for (const layer of layers) {
    map.on("mouseenter", layer, () => (map.getCanvas().style.cursor = "pointer"));
    map.on("mouseleave", layer, () => (map.getCanvas().style.cursor = ""));
  }
}

// A MapLibre map in a new canvas at the top of `node`, fitted to its `data-bbox` (else
// Germany), with its `data-basemap` and `data-attribution`; listed in `allmende.maps`.
function newMap(node, maplibregl) {
  const container = el("div", { class: "map-canvas" });
  node.prepend(container);
  const bbox = node.dataset.bbox ? JSON.parse(node.dataset.bbox) : null;
  const map = new maplibregl.Map({
    container,
    style: mapStyle(node.dataset.basemap),
    bounds: bbox ? [[bbox[0], bbox[1]], [bbox[2], bbox[3]]] : undefined,
    fitBoundsOptions: { padding: 24 },
    center: bbox ? undefined : [10.4, 51.1],
    zoom: bbox ? undefined : 5,
    attributionControl: node.dataset.attribution ? { compact: true, customAttribution: node.dataset.attribution } : false,
    // The browser test reads the pixels back.
    canvasContextAttributes: { preserveDrawingBuffer: true },
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }));
  allmende.maps.push(map);
  return map;
}

// A map in `node`: the dataset page's of our vector tiles (`data-tiles`, the OGC API – Tiles
// URL template, and `data-layer`, the tiles' layer), or the SQL console's of a query
// result's GeoJSON (`data-geojson`).
async function setupMap(node) {
  maplibregl = await loadMaplibre();
  const status = node.querySelector(".status");
  const map = newMap(node, maplibregl);
  const bbox = node.dataset.bbox ? JSON.parse(node.dataset.bbox) : null;
  node.allmendeMap = map;
  map.on("load", async () => {
    try {
      status.textContent = text.loading;
      if (node.dataset.tiles) addTiles(node, map, bbox);
      else await addGeojson(node, map, bbox);
    } catch (e) {
      status.textContent = `${text.failed}: ${e.message}`;
      node.dataset.ready = "error";
    }
  });
}

// The dataset's vector tiles. The tile requests go to this server (the template is made
// absolute with the page's origin: the worker that fetches them has another base URL), only
// for tiles inside the dataset's extent; beyond zoom 14 MapLibre enlarges the zoom 14 tiles
// (they are exact to well under a metre there) instead of asking for more. A tiles template
// rather than our TileJSON: the page already has the extent (one request less), and the
// TileJSON's absolute URLs follow ALLMENDE_BASE_URL, which need not be the page's origin.
function addTiles(node, map, bbox) {
  const layer = node.dataset.layer;
  map.addSource("data", {
    type: "vector",
    tiles: [location.origin + node.dataset.tiles],
    bounds: bbox ?? undefined,
    minzoom: 0,
    maxzoom: 14,
  });
  addDataLayers(map, layer, node.dataset.label);
  map.once("idle", () => {
    const ids = new Set(map.querySourceFeatures("data", { sourceLayer: layer }).map((f) => f.id ?? JSON.stringify(f.properties)));
    node.dataset.ready = String(ids.size);
    node.querySelector(".status").textContent = "";
  });
  if (node.dataset.label && node.dataset.table) {
    // The map works without the list: a failure only says so.
    featurePicker(node, map).catch((e) => (node.querySelector(".status").textContent = `${text.failed}: ${e.message}`));
  }
}

async function addGeojson(node, map, bbox) {
  const data = await getJson(node.dataset.geojson);
  map.addSource("data", { type: "geojson", data });
  addDataLayers(map, null, node.dataset.label);
  if (!bbox && data.features?.length) {
    const b = new maplibregl.LngLatBounds();
    for (const f of data.features) {
      const walk = (c) => (typeof c[0] === "number" ? b.extend(c) : c.forEach(walk));
      if (f.geometry) walk(f.geometry.coordinates);
    }
    if (!b.isEmpty()) map.fitBounds(b, { padding: 24, duration: 0 });
  }
  map.once("idle", () => {
    node.dataset.ready = String(data.features?.length ?? 0);
    node.querySelector(".status").textContent = "";
  });
}

function centre(geometry) {
  if (geometry.type === "Point") return geometry.coordinates;
  const b = new maplibregl.LngLatBounds();
  const walk = (c) => (typeof c[0] === "number" ? b.extend(c) : c.forEach(walk));
  walk(geometry.coordinates);
  return b.getCenter();
}

// The keyboard's way to a feature's properties (a click needs a pointer): a list of the
// features by name (the label column's values, one small SQL query) that moves the map to
// the chosen one and opens its properties (that one feature from /ogc items).
async function featurePicker(node, map) {
  const { label, table, items } = node.dataset;
  const q = `SELECT DISTINCT ${ident(label)} FROM ${ident(table)} WHERE ${ident(label)} IS NOT NULL LIMIT 2001`;
  const names = (await getJson(sqlUrl(q))).rows
    .map((r) => String(r[0]))
    .sort((a, b) => a.localeCompare(b, document.documentElement.lang));
  if (!names.length || names.length > 2000) return;
  const id = `feature-${allmende.maps.indexOf(map)}`;
  const select = el("select", { id }, [el("option", { value: "" }, ["–"]), ...names.map((n) => el("option", { value: n }, [n]))]);
  let popup;
  select.addEventListener("change", async () => {
    const name = select.value;
    if (name === "") return;
    const filter = `"${label}" = ${literal(name)}`;
    const url = `${items}?f=json&limit=1&filter-lang=cql2-text&filter=${encodeURIComponent(filter)}`;
    try {
      const f = (await getJson(url)).features?.[0];
      if (!f?.geometry || select.value !== name) return;
      const at = centre(f.geometry);
      map.jumpTo({ center: at, zoom: Math.max(map.getZoom(), 10) });
      popup?.remove();
      popup = new maplibregl.Popup({ maxWidth: "320px", focusAfterOpen: false }).setLngLat(at).setDOMContent(propertiesTable(f.properties, label)).addTo(map);
    } catch (e) {
      node.querySelector(".status").textContent = `${text.failed}: ${e.message}`;
    }
  });
  node.append(el("p", { class: "feature-picker" }, [el("label", { for: id }, [text.feature]), " ", select]));
}

// --- chart -----------------------------------------------------------------------------

const palette = ["#0b6e99", "#6d28d9", "#15803d", "#b45309"];
const thresholdColours = ["#ca8a04", "#ea580c", "#b91c1c", "#7f1d1d"];

let uPlot;

async function drawChart(node) {
  uPlot ??= (await import("uplot")).default;
  const spec = JSON.parse(node.dataset.chart);
  const select = node.querySelector("select");
  const status = node.querySelector(".status");
  const plotBox = node.querySelector(".chart-plot");
  const alt = node.querySelector(".chart-data");
  const key = select ? select.value : null;
  const where = key === null ? "" : ` WHERE ${ident(spec.key)} = ${literal(key)}`;
  const q = `SELECT ${[spec.time, ...spec.values].map(ident).join(", ")} FROM ${ident(spec.table)}${where} ORDER BY 1 LIMIT 20000`;
  status.textContent = text.loading;
  node.dataset.ready = "";
  try {
    const result = await getJson(sqlUrl(q));
    const xs = result.rows.map((r) => Date.parse(r[0]) / 1000);
    const data = [xs, ...spec.values.map((_, i) => result.rows.map((r) => r[i + 1]))];
    const series = [{}, ...spec.values.map((v, i) => ({ label: v, stroke: palette[i % palette.length], width: 1.5 }))];
    const thresholds = [];
    if (spec.thresholds && key !== null) {
      const t = spec.thresholds;
      const tq = `SELECT ${t.columns.map((c) => `TRY_CAST(${ident(c)} AS DOUBLE)`).join(", ")} FROM ${ident(t.table)} WHERE ${ident(t.key)} = ${literal(key)} LIMIT 1`;
      const tr = await getJson(sqlUrl(tq));
      const row = tr.rows[0] ?? [];
      t.columns.forEach((c, i) => {
        if (typeof row[i] === "number") thresholds.push({ label: c, value: row[i] });
      });
    }
    thresholds.forEach((t, i) => {
      data.push(xs.map(() => t.value));
      series.push({ label: `${t.label} (${t.value})`, stroke: thresholdColours[i % thresholdColours.length], width: 2, dash: [8, 4], points: { show: false } });
    });
    plotBox.replaceChildren();
    const width = Math.max(280, plotBox.clientWidth || 600);
    const chart = new uPlot({ width, height: 320, series, axes: [{}, { label: spec.unit ?? "" }], scales: { x: { time: true } } }, data, plotBox);
    allmende.charts.push(chart);
    node.allmendeChart = chart;
    new ResizeObserver(() => chart.setSize({ width: Math.max(280, plotBox.clientWidth), height: 320 })).observe(plotBox);
    // The chart's text alternative: its numbers as a table.
    const head = el("tr", {}, [spec.time, ...spec.values, ...thresholds.map((t) => t.label)].map((c) => el("th", { scope: "col" }, [c])));
    const body = result.rows.map((r) =>
      el("tr", {}, [...r, ...thresholds.map((t) => t.value)].map((v) => el("td", {}, [v === null ? "" : String(v)]))),
    );
    alt.replaceChildren(el("table", {}, [el("thead", {}, [head]), el("tbody", {}, body)]));
    status.textContent = result.rows.length ? "" : text.noRows;
    node.dataset.ready = String(result.rows.length);
    node.dataset.thresholds = String(thresholds.length);
  } catch (e) {
    status.textContent = `${text.failed}: ${e.message}`;
    node.dataset.ready = "error";
  }
}

function setupChart(node) {
  node.querySelector("select")?.addEventListener("change", () => {
    for (const c of allmende.charts.splice(0)) c.destroy();
    drawChart(node);
  });
  drawChart(node);
}

// --- copy buttons and the SQL console ---------------------------------------------------

function setupCopy(pre) {
  const button = el("button", { type: "button", class: "copy" }, [text.copy]);
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(pre.textContent);
      button.textContent = text.copied;
    } catch {
      const range = document.createRange();
      range.selectNodeContents(pre);
      getSelection().removeAllRanges();
      getSelection().addRange(range);
    }
  });
  pre.before(button);
}

function setupConsole(form) {
  const editor = form.querySelector("textarea");
  editor.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  for (const b of document.querySelectorAll("[data-insert]")) {
    b.addEventListener("click", () => {
      const s = editor.selectionStart, t = b.dataset.insert;
      editor.setRangeText(t, s, editor.selectionEnd, "end");
      editor.focus();
    });
  }
}

for (const node of document.querySelectorAll("[data-tiles], [data-geojson]")) setupMap(node);
// The live gauge pages' code, only where it is needed.
const shared = { allmende, el, loadMaplibre, newMap };
for (const node of document.querySelectorAll("[data-gauges]")) import("./gauges.js").then((m) => m.setupGaugeMap(node, shared));
for (const node of document.querySelectorAll("[data-station-chart]")) import("./station.js").then((m) => m.setupStation(node, shared));
for (const node of document.querySelectorAll("[data-chart]")) setupChart(node);
for (const pre of document.querySelectorAll("pre[data-copy]")) setupCopy(pre);
for (const form of document.querySelectorAll("form.console")) setupConsole(form);
