// What the gauge pages share: the level icons (colour, shape and the level's number, so
// that no one needs to tell colours apart), the words for trends, and values and times
// written as the server writes them.

const de = document.documentElement.lang !== "en";

// By icon key: "none" (no reading) or the level's number. Levels above 3 look like 3.
const looks = {
  none: { shape: "ring", fill: "#ffffff", stroke: "#374151", text: "?", ink: "#111827" },
  0: { shape: "circle", fill: "#15803d", stroke: "#ffffff", text: "0", ink: "#ffffff" },
  1: { shape: "triangle", fill: "#facc15", stroke: "#1a1a1a", text: "1", ink: "#1a1a1a" },
  2: { shape: "diamond", fill: "#f97316", stroke: "#1a1a1a", text: "2", ink: "#1a1a1a" },
  3: { shape: "square", fill: "#b91c1c", stroke: "#ffffff", text: "3", ink: "#ffffff" },
};

export const levelColour = (level) => (looks[Math.min(level, 3)] ?? looks[3]).fill;

// A canvas with the icon of `key`, `size` CSS pixels wide, sharp on the screen's pixel ratio.
export function iconCanvas(key, size = 22, ratio = window.devicePixelRatio || 1) {
  const look = looks[key] ?? { ...looks[3], text: String(key) };
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = Math.round(size * ratio);
  canvas.style.width = canvas.style.height = `${size}px`;
  const g = canvas.getContext("2d");
  g.scale(ratio, ratio);
  const s = size, m = 1.5;
  g.beginPath();
  switch (look.shape) {
    case "triangle":
      g.moveTo(s / 2, m); g.lineTo(s - m, s - m); g.lineTo(m, s - m); g.closePath();
      break;
    case "diamond":
      g.moveTo(s / 2, m); g.lineTo(s - m, s / 2); g.lineTo(s / 2, s - m); g.lineTo(m, s / 2); g.closePath();
      break;
    case "square":
      g.rect(m + 1, m + 1, s - 2 * m - 2, s - 2 * m - 2);
      break;
    default:
      g.arc(s / 2, s / 2, s / 2 - m, 0, 2 * Math.PI);
  }
  g.fillStyle = look.fill;
  g.fill();
  g.lineWidth = look.shape === "ring" ? 2 : 1.5;
  g.strokeStyle = look.stroke;
  g.stroke();
  g.fillStyle = look.ink;
  g.font = `bold ${Math.round(s * 0.5)}px system-ui, sans-serif`;
  g.textAlign = "center";
  g.textBaseline = "middle";
  g.fillText(look.text, s / 2, look.shape === "triangle" ? s * 0.62 : s / 2 + 0.5);
  return canvas;
}

// Fills every `.gauge-icon[data-icon]` under `root` with its icon.
export function drawIcons(root = document) {
  for (const span of root.querySelectorAll(".gauge-icon[data-icon]")) {
    if (span.dataset.drawn === span.dataset.icon) continue;
    span.replaceChildren(iconCanvas(span.dataset.icon));
    span.dataset.drawn = span.dataset.icon;
  }
}

export const words = {
  noReading: de ? "Kein Messwert" : "No reading",
  rising: de ? "↗ steigend" : "↗ rising",
  falling: de ? "↘ fallend" : "↘ falling",
  steady: de ? "→ gleichbleibend" : "→ steady",
};

export const trendText = (trend) => words[trend] ?? "";

// As the server writes them: "205,5 cm" in German, "205.5 cm" in English.
export function valueText(value, unit) {
  const number = de ? String(value).replace(".", ",") : String(value);
  return unit ? `${number} ${unit}` : number;
}

// "2024-01-03 12:00 UTC".
export function timeText(time) {
  const t = new Date(time);
  return Number.isNaN(t.getTime()) ? time : `${t.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

export function timeElement(time) {
  const node = document.createElement("time");
  node.setAttribute("datetime", time);
  node.textContent = timeText(time);
  return node;
}

// The dataset's event stream: `onLatest` gets each push's changed stations, `onSync` is called
// when (re)subscribed and when readings may have been missed (to fetch `/latest` again).
// Falls back to polling through `onSync` when the stream fails for good or is unsupported.
// Returns a function that reports the connection state ("live", "polling", "reconnecting").
export function follow(streamUrl, { onLatest, onSync, onState, every = 30000 }) {
  let timer = null;
  const poll = () => {
    if (timer) return;
    onState("polling");
    onSync();
    timer = setInterval(onSync, every);
  };
  if (!("EventSource" in window)) return poll();
  const source = new EventSource(streamUrl);
  source.addEventListener("ready", () => {
    onState("live");
    onSync();
  });
  source.addEventListener("latest", (e) => {
    try {
      onLatest(JSON.parse(e.data));
    } catch {
      onSync();
    }
  });
  source.addEventListener("lagged", () => onSync());
  source.addEventListener("error", () => {
    if (source.readyState === EventSource.CLOSED) poll();
    else onState("reconnecting");
  });
}
