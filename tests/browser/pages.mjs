// The citizen's walk through the demo in headless Chromium (Debian's `chromium`, driven by
// playwright-core from api/web's lockfile), with axe-core on every page:
//
//   search "Pegel" → the gauge stations' page: the map shows the gauges from our vector tiles
//   (map pixels at the gauges' positions have the marker colour; one is clicked and its popup
//   names it; the feature list opens another; tiles were requested, the whole GeoJSON file
//   not) → the daily readings' page: the chart draws the readings and the warning
//   thresholds → a download link returns the file whose SHA-256 the page states → the SQL
//   console runs a query and shows its rows, maps a geometry result, and marks an error at
//   its position.
//
// With a fourth argument, a server of the time series `pegel-live` and its push token in
// ALLMENDE_TEST_TOKEN: the live gauge map shows Ahlen at level 0, and after a push (from
// here, while the page stays open) at level 2 on the map and in the table, announced in the
// live region, without a reload; Ahlen's page charts exactly its three thresholds and lists
// the readings, and takes a new one live.
//
// No request may leave 127.0.0.1 (the demo server, and the basemap test's tile server), and no Content-Security-Policy violation or script error
// may occur. Screenshots of every step go to the folder given as the second argument.
//
// usage: node tests/browser/pages.mjs <base url> <screenshot folder> [<base url with basemap> [<gauge server>]]
import { createRequire } from "node:module";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, "../../api/web/package.json"));
const { chromium } = require("playwright-core");
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

// The optional third argument is a second server of the same data with a basemap configured
// (ALLMENDE_BASEMAP_URL pointing at a tile server on 127.0.0.1).
const [base, shots, basemapBase, gaugeBase] = process.argv.slice(2);
if (!base || !shots) {
  console.error("usage: node pages.mjs <base url> <screenshot folder> [<base url with basemap>]");
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
const origin = new URL(base).origin;
const local = (url) => {
  if (url.startsWith("data:") || url.startsWith("blob:")) return true;
  try {
    return new URL(url).hostname === "127.0.0.1";
  } catch {
    return false;
  }
};

const failures = [];
const check = (ok, message) => {
  console.log(`${ok ? "ok  " : "FAIL"} ${message}`);
  if (!ok) failures.push(message);
};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  // WebGL for MapLibre without a GPU: SwiftShader. --no-sandbox: CI runs as root.
  args: ["--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--ignore-gpu-blocklist"],
});
// A German browser: the pages follow its Accept-Language.
const context = await browser.newContext({ locale: "de-DE", viewport: { width: 1100, height: 900 }, acceptDownloads: true });
const outside = [];
const problems = [];
// Every request of the pages and their workers; anything not to our server is refused and noted.
await context.route("**/*", (route) => {
  const url = route.request().url();
  if (local(url)) return route.continue();
  outside.push(url);
  return route.abort();
});
const requested = [];
context.on("request", (r) => {
  requested.push(r.url());
  if (!local(r.url())) outside.push(r.url());
});
const page = await context.newPage();
page.on("console", (m) => {
  if (m.type() === "error" || /Content.Security.Policy/i.test(m.text())) problems.push(`console: ${m.text()}`);
});
page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));

async function axe(name) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() =>
    window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } }),
  );
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  for (const v of bad) {
    console.log(`  axe ${v.impact}: ${v.id} — ${v.help}`);
    for (const n of v.nodes.slice(0, 3)) console.log(`    ${n.target.join(" ")}: ${n.failureSummary?.split("\n").join(" ")}`);
  }
  check(bad.length === 0, `${name}: axe finds no serious or critical violation (${result.passes.length} rules pass)`);
}

let step = 0;
// Whole pages, except where a WebGL map is in view: a full-page capture resizes the viewport,
// and the map's canvas is captured mid-resize.
async function shot(name, fullPage = true) {
  step += 1;
  await page.screenshot({ path: join(shots, `${String(step).padStart(2, "0")}-${name}.png`), fullPage });
}

// 1. Home, search "Pegel".
await page.goto(`${base}/`);
check((await page.getAttribute("html", "lang")) === "de", "home: German by default");
await axe("home");
await shot("home");
// Keyboard: the first Tab lands on the skip link, which is visible and outlined, and leads
// to the main content; the next Tabs reach the navigation.
await page.keyboard.press("Tab");
const skip = await page.evaluate(() => {
  const a = document.activeElement;
  const style = getComputedStyle(a);
  const box = a.getBoundingClientRect();
  return { cls: a.className, outline: style.outlineStyle, width: parseFloat(style.outlineWidth), visible: box.left >= 0 && box.width > 0 };
});
check(skip.cls === "skip" && skip.outline === "solid" && skip.width >= 2 && skip.visible, `keyboard: Tab shows the skip link with a focus outline (${JSON.stringify(skip)})`);
await page.keyboard.press("Enter");
check((await page.evaluate(() => document.activeElement.id)) === "main", "keyboard: the skip link moves focus to the main content");
await page.getByLabel("Datensätze durchsuchen").fill("Pegel");
await Promise.all([page.waitForURL(/\/datasets\?/), page.keyboard.press("Enter")]);
const titles = await page.locator("ol.results h3").allTextContents();
check(
  titles.includes("Pegelstationen in Nordrhein-Westfalen") && titles.includes("Tägliche Wasserstände der Pegel in Nordrhein-Westfalen"),
  `search "Pegel" finds both gauge datasets (${titles.join(" | ")})`,
);
await axe("search results");
await shot("search-pegel");
const chunks = requested.filter((u) => u.includes("/assets/chunk-"));
check(chunks.length === 0, `home and search load no map or chart code (${chunks.join(", ")})`);

// 2. The gauge stations: the map shows the gauges, drawn from our vector tiles. The gauges'
// positions, to look for them on the map, come from the GeoJSON download fetched here in
// Node, outside the browser: the page itself must not download the whole file.
const gauges = await (await fetch(`${base}/api/datasets/pegel-nrw-stationen/download.geojson`)).json();
const beforeGauges = requested.length;
await page.getByRole("link", { name: "Pegelstationen in Nordrhein-Westfalen" }).click();
await page.waitForURL(/\/datasets\/pegel-nrw-stationen/);
await page.waitForFunction(() => document.querySelector(".map")?.dataset.ready, null, { timeout: 60000 });
await page.locator(".map").scrollIntoViewIfNeeded();
const mapState = await page.evaluate(async (data) => {
  const node = document.querySelector(".map");
  const map = window.allmende.maps[0];
  const canvas = map.getCanvas();
  const copy = document.createElement("canvas");
  copy.width = canvas.width;
  copy.height = canvas.height;
  const g = copy.getContext("2d");
  g.drawImage(canvas, 0, 0);
  const ratio = canvas.width / canvas.clientWidth;
  const pixel = (x, y) => Array.from(g.getImageData(Math.round(x * ratio), Math.round(y * ratio), 1, 1).data);
  // The marker's fill is #c2410c; antialiasing and the white ring blur its edge, so look at
  // the centre.
  const marker = ([r, gr, b]) => Math.abs(r - 0xc2) < 30 && Math.abs(gr - 0x41) < 30 && Math.abs(b - 0x0c) < 30;
  // The background is #eef1f4.
  const background = ([r, gr, b]) => r === 0xee && gr === 0xf1 && b === 0xf4;
  let inside = 0, hits = 0, drawn = 0;
  for (const f of data.features) {
    const p = map.project(f.geometry.coordinates);
    if (p.x < 2 || p.y < 2 || p.x > canvas.clientWidth - 2 || p.y > canvas.clientHeight - 2) continue;
    inside += 1;
    const at = pixel(p.x, p.y);
    if (marker(at)) hits += 1;
    if (!background(at)) drawn += 1;
  }
  // A spot far from every gauge is background.
  const corner = pixel(3, canvas.clientHeight - 3);
  const rect = canvas.getBoundingClientRect();
  const first = data.features[0];
  const p = map.project(first.geometry.coordinates);
  return { features: data.features.length, tiled: Number(node.dataset.ready), inside, hits, drawn, corner, background: background(corner), click: { x: rect.left + p.x, y: rect.top + p.y, name: first.properties.Name } };
}, gauges);
check(mapState.features > 100 && mapState.tiled === mapState.features, `map: the tiles hold all ${mapState.tiled} of ${mapState.features} gauges`);
// Where gauges crowd, a neighbour's white ring may cover a marker's centre: every gauge
// position is drawn on, and most show the marker colour itself.
check(
  mapState.inside > 100 && mapState.drawn === mapState.inside && mapState.hits >= mapState.inside * 0.8,
  `map: all ${mapState.inside} gauge positions in view are drawn on, ${mapState.hits} in the marker colour`,
);
check(mapState.background, `map: background away from the gauges (${mapState.corner})`);
await page.mouse.click(mapState.click.x, mapState.click.y);
await page.waitForSelector(".maplibregl-popup", { timeout: 10000 });
const popup = await page.locator(".maplibregl-popup").innerText();
check(popup.includes(mapState.click.name), `map: clicking a gauge shows its properties (${mapState.click.name})`);
await shot("gauge-stations-map", false);
// Without a pointer: the feature list opens a gauge's properties too.
await page.locator(".maplibregl-popup-close-button").click();
await page.getByLabel("Objekt auf der Karte zeigen:").focus();
await page.getByLabel("Objekt auf der Karte zeigen:").selectOption({ label: "Ahlen" });
await page.waitForSelector(".maplibregl-popup", { timeout: 10000 });
const keyboardPopup = await page.locator(".maplibregl-popup").innerText();
check(keyboardPopup.includes("Werse"), "map: the feature list opens a gauge's properties (Ahlen, river Werse)");
const mapRequests = requested.slice(beforeGauges).map((u) => new URL(u).pathname);
const tileRequests = mapRequests.filter((u) => u.startsWith("/ogc/collections/pegel-nrw-stationen/tiles/WebMercatorQuad/"));
const wholeFile = mapRequests.filter((u) => u.includes("/download.") || u.endsWith(".geojson"));
check(tileRequests.length > 0, `map: drawn from ${tileRequests.length} vector tiles (${tileRequests.slice(0, 3).join(", ")})`);
check(wholeFile.length === 0, `map: the page downloads no whole file (${wholeFile.join(", ")})`);
await axe("gauge stations");

// 3. The daily readings: the chart with thresholds.
await page.goBack();
await page.getByRole("link", { name: "Tägliche Wasserstände der Pegel in Nordrhein-Westfalen" }).click();
await page.waitForURL(/\/datasets\/pegel-nrw-tageswerte/);
await page.waitForFunction(() => document.querySelector("[data-chart]")?.dataset.ready, null, { timeout: 60000 });
const chartState = await page.evaluate(() => {
  const node = document.querySelector("[data-chart]");
  const chart = window.allmende.charts[0];
  const canvas = node.querySelector("canvas");
  const g = canvas.getContext("2d");
  const pixels = g.getImageData(0, 0, canvas.width, canvas.height).data;
  let drawn = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) drawn += 1;
  return {
    station: node.querySelector("select")?.value,
    rows: Number(node.dataset.ready),
    thresholds: Number(node.dataset.thresholds),
    series: chart.series.map((s) => s.label),
    points: chart.data[0].length,
    drawn,
    altRows: node.querySelectorAll(".chart-data tbody tr").length,
  };
});
check(chartState.rows > 300 && chartState.points === chartState.rows, `chart: ${chartState.points} days of ${chartState.station}`);
check(chartState.thresholds >= 1, `chart: ${chartState.thresholds} warning thresholds drawn (${chartState.series.slice(4).join(", ")})`);
check(chartState.drawn > 2000, `chart: ${chartState.drawn} pixels drawn`);
check(chartState.altRows === chartState.rows, "chart: its values are also a table");
await shot("gauge-readings-chart");
await axe("gauge readings");

// 4. A download link returns the file the page describes.
const csvLink = page.locator("ul.downloads a", { hasText: "CSV" });
const [download] = await Promise.all([page.waitForEvent("download"), csvLink.click()]);
const bytes = readFileSync(await download.path());
const sha = createHash("sha256").update(bytes).digest("hex");
const pageText = await page.locator("#version-list").innerText();
check(bytes.length > 1000 && pageText.includes(sha), `download: ${download.suggestedFilename()} (${bytes.length} bytes) has the SHA-256 the page states`);
check(bytes.subarray(3, 40).toString().startsWith("Name,Datum"), "download: the CSV starts with its header");

// 5. The SQL console.
await page.goto(`${base}/sql`);
await page.getByLabel("Abfrage").fill(`SELECT "Name", "Gewaesser", "Informationsstufe 1" FROM pegel_nrw_stationen ORDER BY "Name" LIMIT 5`);
await Promise.all([page.waitForURL(/\/sql\?/), page.getByRole("button", { name: "Ausführen" }).click()]);
const rows = await page.locator("table.result tbody tr").count();
const firstCell = await page.locator("table.result tbody tr td").first().innerText();
check(rows === 5 && firstCell === "Ahlen", `SQL console: 5 rows, the first "${firstCell}"`);
await axe("SQL console with result");
await shot("sql-result");
const [csv] = await Promise.all([page.waitForEvent("download"), page.locator("ul.downloads a", { hasText: "CSV" }).click()]);
const csvText = readFileSync(await csv.path(), "utf8").replace(/^\uFEFF/, "");
const csvLines = csvText.trim().split(/\r?\n/);
check(
  csvLines.length === 6 && csvLines[0] === "Name,Gewaesser,Informationsstufe 1" && csvLines[1].startsWith("Ahlen,"),
  `SQL console: the result downloads as CSV (${csvLines.length} lines, "${csvLines[0]}")`,
);

await page.getByLabel("Abfrage").fill(`SELECT "Wahlbezirksname", geometry FROM wahlbezirke_karlsruhe ORDER BY "Wahlbezirksnummer" LIMIT 20`);
await Promise.all([page.waitForURL(/\/sql\?/), page.getByRole("button", { name: "Ausführen" }).click()]);
const geomRows = await page.locator("table.result tbody tr").count();
await page.waitForFunction(() => document.querySelector(".map")?.dataset.ready, null, { timeout: 60000 });
const mapped = await page.evaluate(() => document.querySelector(".map").dataset.ready);
check(geomRows === 20 && mapped === "20", `SQL console: the 20 districts of the result are mapped (${mapped} features)`);
await page.locator(".map").scrollIntoViewIfNeeded();
await shot("sql-map", false);

await page.getByLabel("Abfrage").fill("SELECT Name\nFROM pegel_nrw_stationen\nWHERE Name = = 'x'");
await Promise.all([page.waitForURL(/\/sql\?/), page.getByRole("button", { name: "Ausführen" }).click()]);
const error = await page.locator("section.error").innerText();
const marked = await page.locator("section.error mark").count();
check(/Zeile 3/.test(error) && marked === 1, "SQL console: the error is shown at its position (line 3, marked)");
await axe("SQL console with error");
await shot("sql-error");

// 6. English.
await page.goto(`${base}/datasets/pegel-nrw-tageswerte?lang=en`);
check((await page.getAttribute("html", "lang")) === "en", "English with ?lang=en");
await page.setViewportSize({ width: 360, height: 800 });
// The chart follows the window's resize event: give the layout a bounded moment to settle.
await page.waitForFunction(() => document.documentElement.scrollWidth <= window.innerWidth, null, { timeout: 5000 }).catch(() => {});
const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
check(overflow <= 0, `360 px wide: no sideways scrolling of the page (${overflow} px)`);
await shot("dataset-english-360px");
await axe("dataset page in English at 360 px");

// 7. With a basemap: its tiles are drawn under the data, and the CSP lets them in.
if (basemapBase) {
  await page.setViewportSize({ width: 1100, height: 900 });
  await page.goto(`${basemapBase}/datasets/wahlbezirke-karlsruhe`);
  await page.waitForFunction(() => document.querySelector(".map")?.dataset.ready, null, { timeout: 60000 });
  await page.locator(".map").scrollIntoViewIfNeeded();
  const tile = await page.evaluate(() => {
    const canvas = window.allmende.maps[0].getCanvas();
    const copy = document.createElement("canvas");
    copy.width = canvas.width;
    copy.height = canvas.height;
    const g = copy.getContext("2d");
    g.drawImage(canvas, 0, 0);
    return Array.from(g.getImageData(3, canvas.height - 3, 1, 1).data);
  });
  const tileOrigin = new URL(await page.getAttribute(".map", "data-basemap")).origin;
  const tiles = requested.filter((u) => u.startsWith(`${tileOrigin}/`)).length;
  // The tile server's tiles are one pixel of #3c8d2f, stretched over the tile.
  const green = Math.abs(tile[0] - 0x3c) < 12 && Math.abs(tile[1] - 0x8d) < 12 && Math.abs(tile[2] - 0x2f) < 12;
  check(tiles > 0 && green, `basemap: ${tiles} tiles from ${tileOrigin} drawn under the data (${tile})`);
  await shot("basemap", false);
}

// 8. The live gauge map and a station page.
if (gaugeBase) {
  const push = async (readings) => {
    const r = await fetch(`${gaugeBase}/api/datasets/pegel-live/observations`, {
      method: "POST",
      headers: { Authorization: `Bearer ${process.env.ALLMENDE_TEST_TOKEN}`, "Content-Type": "application/json" },
      body: JSON.stringify(readings),
    });
    if (!r.ok) throw new Error(`push: ${r.status} ${await r.text()}`);
    return r.json();
  };
  const ago = (hours) => new Date(Date.now() - hours * 3600e3).toISOString().replace(/\.\d+Z$/, "Z");
  await push([{ station: "Ahlen", time: ago(3), value: 150 }]);
  await page.setViewportSize({ width: 1100, height: 900 });
  await page.goto(`${gaugeBase}/datasets/pegel-live/gauges`);
  await page.waitForFunction(() => document.querySelector("[data-gauges]")?.dataset.ready && document.querySelector("[data-gauges]").dataset.live === "live", null, { timeout: 60000 });
  // A mark that a reload would wipe.
  await page.evaluate(() => (window.notReloaded = true));
  const ahlen = () =>
    page.evaluate(() => {
      const map = window.allmende.gauges.map;
      const f = map.queryRenderedFeatures({ layers: ["gauges"] }).find((x) => x.properties.station === "Ahlen");
      const row = document.querySelector('tr[data-station="Ahlen"]');
      return { map: f?.properties.level, row: row.dataset.level, text: row.querySelector(".level-name").textContent, first: document.querySelector("table.gauges tbody tr").dataset.station };
    });
  const before = await ahlen();
  check(before.map === "0" && before.row === "0" && before.first === "Ahlen", `gauge map: Ahlen drawn at level 0 (${JSON.stringify(before)})`);
  const legend = await page.locator("ul.legend").innerText();
  check(["Informationsstufe 1", "Informationsstufe 2", "Informationsstufe 3", "Kein Messwert"].every((n) => legend.includes(n)), "gauge map: the legend names the three levels and 'no reading'");
  const icons = await page.evaluate(() => document.querySelectorAll("ul.legend canvas").length);
  check(icons === 5, `gauge map: the legend shows the ${icons} icons of the map`);
  await axe("gauge map");
  await page.locator(".gauge-map").scrollIntoViewIfNeeded();
  await shot("gauge-map-level-0", false);
  await push([{ station: "Albersloh", time: ago(1), value: 100 }, { station: "Ahlen", time: ago(1), value: 205 }]);
  await page.waitForFunction(
    () => {
      const f = window.allmende.gauges.map.queryRenderedFeatures({ layers: ["gauges"] }).find((x) => x.properties.station === "Ahlen");
      return f?.properties.level === "2" && document.getElementById("gauge-news").textContent.includes("Ahlen");
    },
    null,
    { timeout: 20000 },
  ).catch(() => {});
  const after = await ahlen();
  const news = await page.locator("#gauge-news").innerText();
  const stayed = await page.evaluate(() => window.notReloaded === true);
  check(after.map === "2" && after.row === "2" && after.text === "Informationsstufe 2" && stayed, `gauge map: after a push Ahlen is at level 2 on the map and in the table, without a reload (${JSON.stringify(after)})`);
  check(news.includes("Ahlen") && news.includes("Informationsstufe 2"), `gauge map: the change is announced ("${news}")`);
  const albersloh = await page.evaluate(() => document.querySelector('tr[data-station="Albersloh"] .value').textContent);
  check(albersloh === "100 cm", `gauge map: Albersloh's new reading in the table (${albersloh})`);
  await shot("gauge-map-level-2", false);
  await axe("gauge map after a level change");
  await page.setViewportSize({ width: 360, height: 800 });
  await page.waitForFunction(() => document.documentElement.scrollWidth <= window.innerWidth, null, { timeout: 5000 }).catch(() => {});
  const gaugeOverflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(gaugeOverflow <= 0, `gauge map at 360 px: no sideways scrolling (${gaugeOverflow} px)`);
  await page.setViewportSize({ width: 1100, height: 900 });

  // Ahlen's page, reached from the table.
  await Promise.all([page.waitForURL(/\/stations\/Ahlen/), page.locator('tr[data-station="Ahlen"] th a').click()]);
  await page.waitForFunction(() => document.querySelector("[data-station-chart]")?.dataset.ready && document.querySelector("[data-station-chart]").dataset.live === "live", null, { timeout: 60000 });
  const station = () =>
    page.evaluate(() => {
      const chart = window.allmende.charts.at(-1);
      return {
        series: chart.series.slice(2).map((s) => s.label),
        levels: chart.data.slice(2).map((d) => d[0]),
        points: chart.data[1].length,
        rows: [...document.querySelectorAll("table.readings tbody td[data-value]")].map((td) => Number(td.dataset.value)),
      };
    });
  const shown = await station();
  check(
    JSON.stringify(shown.levels) === "[170,200,250]" && shown.series.length === 3 && shown.series[0].startsWith("Informationsstufe 1"),
    `station page: the chart has exactly Ahlen's three thresholds (${shown.series.join(", ")})`,
  );
  check(shown.points === 2 && JSON.stringify(shown.rows) === "[205,150]", `station page: the chart and the table hold the pushed readings (${shown.rows})`);
  await axe("station page");
  await shot("station-ahlen");
  await push([{ station: "Ahlen", time: ago(0), value: 230 }]);
  await page.waitForFunction(() => document.querySelectorAll("table.readings tbody td[data-value]").length === 3, null, { timeout: 20000 }).catch(() => {});
  const live = await station();
  const current = await page.locator(".current-value").innerText();
  check(live.points === 3 && live.rows[0] === 230 && current === "230 cm", `station page: a new reading arrives live in chart, table and current value (${live.rows}, ${current})`);
}

check(outside.length === 0, `no request left 127.0.0.1 (${[...new Set(outside)].slice(0, 5).join(", ")})`);
check(problems.length === 0, `no CSP violation or script error (${problems.slice(0, 5).join(" | ")})`);

await browser.close();
if (failures.length) {
  console.error(`\n${failures.length} check(s) failed`);
  process.exit(1);
}
console.log("\nall browser checks passed");
