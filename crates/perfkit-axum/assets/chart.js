// Our own small SVG charts: time-series lines, sparklines and the score ring.
//
// Shapes are drawn in a fixed viewBox stretched to the box (preserveAspectRatio="none") with
// non-scaling strokes, so a chart needs no layout measurement and draws the same whether its
// tab is visible or not. Text stays in HTML around the SVG, where it is never stretched.

import { el } from "./format.js";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 600;
const HEIGHT = 160;
/** More points than this are reduced to the minimum and maximum of each bucket. */
const MAX_POINTS = 480;

function svg(tag, attributes = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

const finite = (value) => typeof value === "number" && Number.isFinite(value);

/** Reduces [index, value] points to at most MAX_POINTS, keeping each bucket's extremes. */
function reduce(points) {
  if (points.length <= MAX_POINTS) return points;
  const size = Math.ceil(points.length / (MAX_POINTS / 2));
  const kept = [];
  for (let start = 0; start < points.length; start += size) {
    let low = null;
    let high = null;
    for (let i = start; i < Math.min(start + size, points.length); i++) {
      const point = points[i];
      if (point[1] === null) continue;
      if (low === null || point[1] < low[1]) low = point;
      if (high === null || point[1] > high[1]) high = point;
    }
    if (low === null) kept.push([points[start][0], null]);
    else if (low === high) kept.push(low);
    else kept.push(...(low[0] < high[0] ? [low, high] : [high, low]));
  }
  return kept;
}

/** An SVG path through the points; a missing value breaks the line. */
function linePath(points, x, y) {
  let path = "";
  let pen = false;
  for (const [index, value] of points) {
    if (value === null) {
      pen = false;
      continue;
    }
    path += `${pen ? "L" : "M"}${x(index).toFixed(1)} ${y(value).toFixed(1)}`;
    pen = true;
  }
  return path;
}

/** A "nice" upper bound for an axis: 1, 2 or 5 times a power of ten. */
function niceCeiling(value) {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

/**
 * A time-series chart in `container`.
 * series: [{ label, values: (number|null)[], tone: "a" | "b" | "c" }]; times: RFC 3339 strings.
 * format: how an axis value is written; ceiling: a fixed top (1 for ratios) or undefined;
 * least: the lowest top an automatic axis takes, so a flat zero line sits at the bottom.
 */
export function lineChart(container, { series, times, format, ceiling, least = 1 }) {
  const length = times.length;
  let top = ceiling;
  if (top === undefined) {
    let highest = 0;
    for (const line of series) for (const value of line.values) if (finite(value) && value > highest) highest = value;
    top = niceCeiling(Math.max(highest * 1.1, least));
  }
  const x = (index) => (length <= 1 ? WIDTH : (index / (length - 1)) * WIDTH);
  const y = (value) => HEIGHT - (Math.min(value, top) / top) * (HEIGHT - 4) - 2;

  const drawing = svg("svg", {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    preserveAspectRatio: "none",
    class: "chart-svg",
    role: "img",
    "aria-label": `${series.map((line) => line.label).join(", ")} over ${length} snapshots`,
  });
  for (const fraction of [0.25, 0.5, 0.75]) {
    const level = HEIGHT - fraction * (HEIGHT - 4) - 2;
    drawing.append(svg("line", { x1: 0, x2: WIDTH, y1: level, y2: level, class: "grid-line" }));
  }
  drawing.append(svg("line", { x1: 0, x2: WIDTH, y1: HEIGHT - 1, y2: HEIGHT - 1, class: "axis-line" }));

  let drawn = 0;
  series.forEach((line, position) => {
    const points = reduce(line.values.map((value, index) => [index, finite(value) ? value : null]));
    const path = linePath(points, x, y);
    if (!path) return;
    drawn += points.length;
    if (position === 0) {
      const area = `${path}L${WIDTH} ${HEIGHT}L${x(points.find((p) => p[1] !== null)[0]).toFixed(1)} ${HEIGHT}Z`;
      drawing.append(svg("path", { d: area, class: `area tone-${line.tone}` }));
    }
    drawing.append(svg("path", { d: path, class: `line tone-${line.tone}`, "vector-effect": "non-scaling-stroke" }));
  });

  const axis = el("div", "chart-axis", null, el("span", null, format(top)), el("span", null, format(top / 2)), el("span", null, format(0)));
  const first = times[0] ? new Date(times[0]).toLocaleTimeString() : "";
  const last = times[length - 1] ? new Date(times[length - 1]).toLocaleTimeString() : "";
  const span = el("div", "chart-times", null, el("span", null, first), el("span", null, last));
  const legend = el("ul", "chart-legend");
  for (const line of series) {
    const latest = [...line.values].reverse().find(finite);
    legend.append(el("li", `tone-${line.tone}`, null, el("span", "swatch"), el("span", null, line.label), el("strong", null, format(latest))));
  }
  const plot = el("div", "chart-plot", null, axis, drawing);
  if (drawn === 0) plot.append(el("p", "chart-empty", "No data yet"));
  container.replaceChildren(legend, plot, span);
  container.dataset.points = String(drawn);
  return drawn;
}

/** A small line of the last values, for a key figure. */
export function sparkline(values, tone = "a") {
  const points = values.map((value, index) => [index, finite(value) ? value : null]).slice(-120);
  const present = points.filter((point) => point[1] !== null).map((point) => point[1]);
  const drawing = svg("svg", { viewBox: "0 0 120 32", preserveAspectRatio: "none", class: "sparkline", "aria-hidden": "true" });
  if (present.length < 2) return drawing;
  const low = Math.min(...present);
  const high = Math.max(...present);
  const range = high - low || 1;
  const first = points[0][0];
  const x = (index) => ((index - first) / Math.max(1, points.length - 1)) * 120;
  const y = (value) => 30 - ((value - low) / range) * 28;
  drawing.append(svg("path", { d: linePath(points, x, y), class: `line tone-${tone}`, "vector-effect": "non-scaling-stroke" }));
  return drawing;
}

/** The score as a ring filled to `score` out of 100, in the status's colour class. */
export function scoreRing(container, score, status) {
  const radius = 52;
  const circumference = 2 * Math.PI * radius;
  const filled = finite(score) ? (Math.max(0, Math.min(100, score)) / 100) * circumference : 0;
  const drawing = svg("svg", { viewBox: "0 0 120 120", class: "ring", "aria-hidden": "true" });
  drawing.append(svg("circle", { cx: 60, cy: 60, r: radius, class: "ring-track" }));
  drawing.append(
    svg("circle", {
      cx: 60,
      cy: 60,
      r: radius,
      class: `ring-value status-${status || "unknown"}`,
      "stroke-dasharray": `${filled.toFixed(1)} ${circumference.toFixed(1)}`,
      transform: "rotate(-90 60 60)",
    }),
  );
  container.replaceChildren(drawing);
}
