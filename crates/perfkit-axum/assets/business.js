// The business series (what the host emits through the `metrics` facade): the Overview's
// Business panel and the Metrics tab's charts of them.
//
// Which series show is the server's choice (`/dashboard`'s `business`, from the dashboard's
// `businessMetrics`); their figures come from the latest snapshot and the history, so they
// move with the live stream like every other chart. Names and label values are the host's
// data: they are only ever set as text.

import { lineChart } from "./chart.js";
import { MISSING, bytes, clock, count, el, fill, text } from "./format.js";
import { latest, state } from "./state.js";

/** A series' identity: its name and every label, written as a selector writes it. */
export function seriesKey(series) {
  const labels = Object.entries(series.labels || {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (labels.length === 0) return series.name;
  return `${series.name}{${labels.map(([name, value]) => `${name}=${JSON.stringify(value)}`).join(",")}}`;
}

/** Each snapshot's series by key, built once per snapshot: snapshots never change. */
const indexes = new WeakMap();
function seriesOf(snapshot) {
  if (!snapshot) return new Map();
  let index = indexes.get(snapshot);
  if (!index) {
    index = new Map((snapshot.business || []).map((series) => [seriesKey(series), series]));
    indexes.set(snapshot, index);
  }
  return index;
}

/** The series the server chose to show, in its order. */
const chosen = () => state.dashboard?.business?.series || [];

/** How a series' values are written: in bytes when its name says they are bytes. */
function valueFormat(name) {
  return /_bytes$/.test(name) ? bytes : (value) => count(value, "", 2);
}

const perSecond = (value) => count(value, "/s", 2);

/** The series as the latest snapshot has it, or as the dashboard document last had it. */
function current(series) {
  return seriesOf(latest()).get(seriesKey(series)) || series;
}

function labelChips(series) {
  const labels = Object.entries(series.labels || {});
  if (labels.length === 0) return null;
  return el("span", "series-labels", null, ...labels.map(([name, value]) => el("code", "series-label", `${name}="${value}"`)));
}

/**
 * A histogram's P95 cell: the latest interval's, or, when that interval saw no observation,
 * the most recent one that did, dimmed and dated (a quiet interval has no percentiles).
 */
function p95Cell(now, format) {
  const cell = el("td", "num", `P95 ${format(now.p95)}`);
  if (typeof now.p95 === "number") return cell;
  const key = seriesKey(now);
  for (let i = state.history.length - 1; i >= 0; i--) {
    const earlier = seriesOf(state.history[i]).get(key);
    if (typeof earlier?.p95 !== "number") continue;
    cell.textContent = `P95 ${format(earlier.p95)}`;
    cell.classList.add("muted");
    cell.title = `No observation in the latest interval; this is the P95 of ${clock(state.history[i].timestamp)}`;
    break;
  }
  return cell;
}

function row(series) {
  const now = current(series);
  const format = valueFormat(now.name);
  const value = now.kind === "gauge" ? format(now.value) : count(now.value);
  const headline = now.kind === "counter" ? el("td", "num", perSecond(now.ratePerSecond)) : now.kind === "histogram" ? p95Cell(now, format) : el("td", "num", MISSING);
  const name = el("th", "series-name", null, el("span", null, now.name), labelChips(now));
  name.scope = "row";
  const line = el("tr", null, null, name, el("td", "series-kind", null, el("span", "status-chip", now.kind)), el("td", "num", value), headline);
  line.dataset.series = seriesKey(now);
  return line;
}

/** What to do when there is nothing to show: how to emit a series, and what picks them. */
function emptyState() {
  const configured = state.dashboard?.business?.configured || [];
  const first = configured.length
    ? el("p", null, `None of the configured series (${configured.join(", ")}) has been emitted yet.`)
    : el("p", null, "No business series yet. Emit one from your code through the metrics facade: ", el("code", null, 'metrics::counter!("orders_placed").increment(1)'), ".");
  const second = el("p", "muted small", null, el("code", null, "[dashboard] businessMetrics"), document.createTextNode(" in the server's config picks which series show here; without it, the first ones emitted."));
  return el("div", "business-empty", null, first, second);
}

/** The Overview's Business panel: each series, its value, and its rate or P95. */
export function renderBusinessPanel() {
  const series = chosen();
  text("business-count", String(series.length));
  if (series.length === 0) {
    fill("business-body", emptyState());
    return;
  }
  const head = el("thead", null, null, el("tr", null, null, ...["Series", "Kind", "Value", "Rate or P95"].map((label, i) => {
    const cell = el("th", i >= 2 ? "num" : i === 1 ? "series-kind" : null, label);
    cell.scope = "col";
    return cell;
  })));
  const table = el("table", "data business-table", null, head, el("tbody", null, null, ...series.map(row)));
  const omitted = state.dashboard?.business?.omitted || 0;
  fill("business-body", el("div", "table-wrap", null, table), omitted ? el("p", "muted small", `and ${omitted} more not shown`) : null);
}

/** The lines of a series' chart over the history. */
function lines(series, key) {
  const values = (field) => state.history.map((snapshot) => seriesOf(snapshot).get(key)?.[field] ?? null);
  if (series.kind === "counter") return { format: perSecond, series: [{ label: "Per second", tone: "a", values: values("ratePerSecond") }] };
  const format = valueFormat(series.name);
  if (series.kind === "gauge") return { format, series: [{ label: "Value", tone: "a", values: values("value") }] };
  return {
    format,
    series: [
      { label: "P50", tone: "a", values: values("p50") },
      { label: "P95", tone: "b", values: values("p95") },
      { label: "P99", tone: "c", values: values("p99") },
    ],
  };
}

/** The Metrics tab's charts: one per series shown, over the history. */
export function renderBusinessCharts() {
  const host = document.getElementById("business-charts");
  const title = document.getElementById("business-charts-title");
  if (!host || !title) return;
  const series = chosen();
  host.hidden = title.hidden = series.length === 0;
  const keys = series.map(seriesKey);
  if (host.dataset.keys !== keys.join("\n")) {
    host.replaceChildren(...series.map((one, i) => el("article", "card chart business-chart", null, el("h2", null, keys[i], el("span", "status-chip", one.kind)), el("div", "chart-body"))));
    host.dataset.keys = keys.join("\n");
  }
  const times = state.history.map((snapshot) => snapshot.timestamp);
  let drawn = 0;
  series.forEach((one, i) => {
    const body = host.children[i].querySelector(".chart-body");
    drawn += lineChart(body, { times, ...lines(one, keys[i]) });
  });
  host.dataset.points = String(drawn);
}
