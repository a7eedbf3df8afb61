// A gauge's page (/datasets/{id}/stations/{station}): charts the server-rendered table of
// readings with uPlot, the station's warning thresholds as dashed lines named on the chart and
// in its legend, and appends readings from the dataset's event stream to chart, table and the
// current value. `allmende` is app.js's test hook (passed, as gauges.js explains).
import { drawIcons, follow, levelColour, timeElement, trendText, valueText } from "./levels.js";

const de = document.documentElement.lang !== "en";
const text = {
  reading: de ? "Wasserstand" : "Water level",
  noRows: de ? "Noch keine Messwerte." : "No readings yet.",
  failed: de ? "Konnte nicht gezeichnet werden" : "Could not be drawn",
  fresh: de ? "Neuer Messwert" : "New reading",
};

// The table's readings, oldest first: [seconds since 1970, value].
function readTable(tbody) {
  return [...tbody.querySelectorAll("tr")]
    .map((tr) => [Date.parse(tr.querySelector("time").getAttribute("datetime")) / 1000, Number(tr.querySelector("[data-value]").dataset.value)])
    .filter(([t, v]) => Number.isFinite(t) && Number.isFinite(v))
    .sort((a, b) => a[0] - b[0]);
}

// Writes each threshold's name above its line, at the plot's left edge.
function thresholdNames(thresholds) {
  return (u) => {
    const g = u.ctx;
    g.save();
    g.font = `${Math.round(12 * devicePixelRatio)}px system-ui, sans-serif`;
    g.textBaseline = "bottom";
    g.textAlign = "left";
    thresholds.forEach((t, i) => {
      const y = u.valToPos(t.value, "y", true);
      g.fillStyle = levelColour(i + 1) === "#facc15" ? "#854d0e" : levelColour(i + 1);
      g.fillText(t.name, u.bbox.left + 4 * devicePixelRatio, y - 2 * devicePixelRatio);
    });
    g.restore();
  };
}

export async function setupStation(node, { allmende }) {
  const spec = JSON.parse(node.dataset.stationChart);
  const status = node.querySelector(".status");
  const plotBox = node.querySelector(".chart-plot");
  const tbody = document.querySelector("table.readings tbody");
  drawIcons(document);
  let readings = readTable(tbody);
  let chart;
  const data = () => {
    const xs = readings.map((r) => r[0]);
    return [xs, readings.map((r) => r[1]), ...spec.thresholds.map((t) => xs.map(() => t.value))];
  };
  try {
    const uPlot = (await import("uplot")).default;
    const series = [
      {},
      { label: `${text.reading}${spec.unit ? ` (${spec.unit})` : ""}`, stroke: "#0b6e99", width: 2 },
      ...spec.thresholds.map((t, i) => ({
        label: `${t.name} (${valueText(t.value, spec.unit)})`,
        stroke: levelColour(i + 1),
        width: 2,
        dash: [8, 4],
        points: { show: false },
      })),
    ];
    const width = () => Math.max(280, plotBox.clientWidth || 600);
    chart = new uPlot(
      {
        width: width(),
        height: 320,
        series,
        axes: [{}, { label: spec.unit ?? "" }],
        scales: { x: { time: true } },
        hooks: { draw: [thresholdNames(spec.thresholds)] },
      },
      data(),
      plotBox,
    );
    allmende.charts.push(chart);
    node.allmendeChart = chart;
    new ResizeObserver(() => chart.setSize({ width: width(), height: 320 })).observe(plotBox);
    status.textContent = readings.length ? "" : text.noRows;
    node.dataset.thresholds = String(spec.thresholds.length);
    node.dataset.ready = String(readings.length);
  } catch (e) {
    status.textContent = `${text.failed}: ${e.message}`;
    node.dataset.ready = "error";
  }

  // A new latest reading of this station: into table, chart and the current value.
  const add = (latest) => {
    const t = Date.parse(latest.time) / 1000;
    if (latest.station !== spec.station || !Number.isFinite(t)) return;
    if (readings.length && t <= readings[readings.length - 1][0]) return;
    readings.push([t, latest.value]);
    const td = document.createElement("td");
    td.className = "num";
    td.dataset.value = String(latest.value);
    td.textContent = String(latest.value);
    const when = document.createElement("td");
    when.className = "short";
    when.append(timeElement(latest.time));
    const tr = document.createElement("tr");
    tr.append(when, td);
    tbody.prepend(tr);
    const count = document.querySelector(".reading-count");
    if (count) count.textContent = String(readings.length);
    document.querySelector(".current-value").textContent = valueText(latest.value, spec.unit);
    document.querySelector(".current-level .gauge-icon").dataset.icon = String(latest.level);
    document.querySelector(".current-level .level-name").textContent = spec.levels[latest.level] ?? "";
    document.querySelector(".current-trend").textContent = trendText(latest.trend);
    document.querySelector(".current-time").replaceChildren(timeElement(latest.time));
    drawIcons(document);
    chart?.setData(data());
    status.textContent = `${text.fresh}: ${valueText(latest.value, spec.unit)}`;
    node.dataset.ready = String(readings.length);
  };
  follow(spec.stream, {
    onLatest: (stations) => stations.forEach(add),
    // The stream's `latest` events carry only a station's newest reading: nothing to catch up
    // from /latest but that one.
    onSync: async () => {
      try {
        const r = await fetch(spec.latest, { headers: { Accept: "application/json" } });
        if (r.ok) (await r.json()).stations.filter((s) => s.station === spec.station).forEach(add);
      } catch {
        // The next event tries again.
      }
    },
    onState: (s) => (node.dataset.live = s),
  });
}
