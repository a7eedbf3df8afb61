// The gauge map (/datasets/{id}/gauges). The server renders every station as a table row
// (data-station, -name, -lon, -lat, -level, -time); this draws those rows on a MapLibre map as
// level icons and keeps rows and map current from the dataset's event stream (or by polling
// /latest with If-None-Match), re-sorting the table by level and announcing level changes in
// the page's polite live region. `lib` is app.js's shared helpers (passed, not imported, so
// that they stay in app.js instead of a chunk of their own that every page would load).
import { drawIcons, follow, iconCanvas, timeElement, trendText, valueText, words } from "./levels.js";

const de = document.documentElement.lang !== "en";
const text = {
  live: de ? "Live: neue Messwerte erscheinen sofort." : "Live: new readings appear at once.",
  polling: de ? "Aktualisierung alle 30 Sekunden." : "Updated every 30 seconds.",
  reconnecting: de ? "Verbindung unterbrochen, neuer Versuch …" : "Connection lost, retrying …",
  failed: de ? "Konnte nicht geladen werden" : "Could not be loaded",
  station: de ? "Zur Seite des Pegels" : "To the gauge's page",
};

const rank = (key) => (key === "none" ? -1 : Number(key));

export async function setupGaugeMap(node, { allmende, el, loadMaplibre, newMap }) {
  const levels = JSON.parse(node.dataset.levels);
  const unit = node.dataset.unit;
  const tbody = document.querySelector("table.gauges tbody");
  const news = document.getElementById("gauge-news");
  const rows = new Map([...tbody.querySelectorAll("tr[data-station]")].map((tr) => [tr.dataset.station, tr]));
  const levelName = (key) => (key === "none" ? words.noReading : levels[Number(key)] ?? key);
  drawIcons(document);

  const maplibregl = await loadMaplibre();
  const map = newMap(node, maplibregl);
  allmende.gauges = { map, rows };

  // The rows as GeoJSON: what the map shows is what the table says.
  const features = () => ({
    type: "FeatureCollection",
    features: [...rows.values()]
      .filter((tr) => tr.dataset.lon !== "" && tr.dataset.lat !== "")
      .map((tr) => ({
        type: "Feature",
        geometry: { type: "Point", coordinates: [Number(tr.dataset.lon), Number(tr.dataset.lat)] },
        properties: { station: tr.dataset.station, name: tr.dataset.name, level: tr.dataset.level, rank: rank(tr.dataset.level) },
      })),
  });

  // A station's new latest reading into its row; the announcement of its level change, if any
  // (a first reading below every level is no news).
  const update = (latest) => {
    const tr = rows.get(latest.station);
    if (!tr || (tr.dataset.time && Date.parse(latest.time) < Date.parse(tr.dataset.time))) return null;
    const before = tr.dataset.level;
    const key = String(latest.level);
    tr.dataset.level = key;
    tr.dataset.time = latest.time;
    tr.querySelector(".value").textContent = valueText(latest.value, unit);
    tr.querySelector(".gauge-icon").dataset.icon = key;
    tr.querySelector(".level-name").textContent = levelName(key);
    tr.querySelector(".trend").textContent = trendText(latest.trend);
    tr.querySelector(".time").replaceChildren(timeElement(latest.time));
    if (before === key || (before === "none" && key === "0")) return null;
    return `${latest.name}: ${levelName(key)} (${valueText(latest.value, unit)})`;
  };

  // Highest level first, then by name, as the server sorts; focus stays where it was.
  const resort = () => {
    const focused = document.activeElement;
    const sorted = [...rows.values()].sort(
      (a, b) => rank(b.dataset.level) - rank(a.dataset.level) || a.dataset.name.toLowerCase().localeCompare(b.dataset.name.toLowerCase()),
    );
    tbody.append(...sorted);
    if (focused && tbody.contains(focused)) focused.focus();
  };

  const apply = (stations) => {
    const changes = stations.map(update).filter(Boolean);
    drawIcons(tbody);
    resort();
    if (changes.length) news.textContent = `${changes.join("; ")}.`;
    map.getSource("gauges")?.setData(features());
    node.dataset.updates = String(Number(node.dataset.updates || 0) + 1);
  };

  let etag = null;
  const sync = async () => {
    try {
      const r = await fetch(node.dataset.latest, { headers: etag ? { Accept: "application/json", "If-None-Match": etag } : { Accept: "application/json" } });
      if (r.status === 304 || !r.ok) return;
      etag = r.headers.get("ETag");
      apply((await r.json()).stations);
    } catch {
      // The next event or poll tries again.
    }
  };

  const state = node.querySelector(".live-state");
  map.on("load", () => {
    try {
      for (const key of ["none", ...levels.map((_, i) => String(i))]) {
        const canvas = iconCanvas(key, 22, 2);
        map.addImage(`level-${key}`, canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height), { pixelRatio: 2 });
      }
      map.addSource("gauges", { type: "geojson", data: features() });
      map.addLayer({
        id: "gauges",
        type: "symbol",
        source: "gauges",
        layout: {
          "icon-image": ["concat", "level-", ["get", "level"]],
          "icon-allow-overlap": true,
          "icon-ignore-placement": true,
          // Higher levels on top.
          "symbol-sort-key": ["get", "rank"],
        },
      });
      map.on("click", "gauges", (e) => {
        const f = e.features[0];
        const tr = rows.get(f.properties.station);
        if (!tr) return;
        const link = tr.querySelector("th a");
        const content = el("div", {}, [
          el("strong", {}, [f.properties.name]),
          el("br"),
          `${levelName(tr.dataset.level)} · ${tr.querySelector(".value").textContent}`,
          el("br"),
          el("a", { href: link.getAttribute("href") }, [text.station]),
        ]);
        new maplibregl.Popup({ maxWidth: "280px" }).setLngLat(f.geometry.coordinates).setDOMContent(content).addTo(map);
      });
      map.on("mouseenter", "gauges", () => (map.getCanvas().style.cursor = "pointer"));
      map.on("mouseleave", "gauges", () => (map.getCanvas().style.cursor = ""));
      map.once("idle", () => (node.dataset.ready = String(features().features.length)));
    } catch (e) {
      state.textContent = `${text.failed}: ${e.message}`;
      node.dataset.ready = "error";
    }
  });

  follow(node.dataset.stream, {
    onLatest: apply,
    onSync: sync,
    onState: (s) => {
      node.dataset.live = s;
      state.textContent = text[s] ?? "";
    },
  });
}
