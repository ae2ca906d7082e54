// The Metrics tab: charts over the history (the database's query times, replica lag and
// recovery among them, and the business series'), system details, errors by kind, slowest
// routes (each with its latest slow trace, linked through the configured trace URL).

import { renderBusinessCharts } from "./business.js";
import { lineChart } from "./chart.js";
import { MISSING, bytes, count, el, fill, millis, percent } from "./format.js";
import { detail, state } from "./state.js";

const CHARTS = [
  { title: "Response time", format: millis, series: [["Average", "responseTime", "a"], ["P95", "p95", "b"], ["P99", "p99", "c"]] },
  { title: "Throughput", format: (v) => count(v, "req/s", 1), least: 10, series: [["Requests per second", "throughput", "a"]] },
  { title: "Error rate", format: (v) => percent(v, 1), least: 0.01, series: [["Errors", "errorRate", "c"]] },
  { title: "Cache hit rate", format: (v) => percent(v, 0), ceiling: 1, series: [["Hit rate", "cacheHitRate", "a"]] },
  { title: "Memory", format: (v) => percent(v, 0), ceiling: 1, series: [["Used", "memoryUsage", "b"]] },
  { title: "CPU", format: (v) => percent(v, 0), ceiling: 1, series: [["Busy", "cpuUsage", "a"]] },
  { title: "Connections", format: (v) => count(v, "", 1), least: 4, series: [["Open", "activeConnections", "b"]] },
  { title: "Queue", format: (v) => count(v, "", 1), least: 4, series: [["Waiting jobs", "queueLength", "c"]] },
  { title: "Database", format: millis, series: [["Query P95", "dbQueryP95", "a"], ["Pool acquire P95", "dbPoolAcquireP95", "b"]] },
  { title: "Replica lag", format: millis, least: 1000, series: [["Furthest replica", "dbReplicaLag", "c"], ["Last recovery", "dbRecoveryTime", "b"]] },
];

export function renderCharts() {
  const host = document.getElementById("charts");
  const times = state.history.map((snapshot) => snapshot.timestamp);
  if (host.children.length !== CHARTS.length) {
    host.replaceChildren(...CHARTS.map((chart) => el("article", "card chart", null, el("h2", null, chart.title), el("div", "chart-body"))));
  }
  let drawn = 0;
  CHARTS.forEach((chart, index) => {
    const body = host.children[index].querySelector(".chart-body");
    drawn += lineChart(body, {
      times,
      format: chart.format,
      ceiling: chart.ceiling,
      least: chart.least,
      series: chart.series.map(([label, metric, tone]) => ({ label, tone, values: state.history.map((snapshot) => snapshot[metric]) })),
    });
  });
  host.dataset.points = String(drawn);
  renderBusinessCharts();
  state.chartsDirty = false;
}

function renderSystem() {
  const system = state.dashboard?.metrics?.system;
  if (!system) {
    fill("system-details", ...detail("System", "not measured"));
    return;
  }
  const load = system.loadAverage;
  const rows = [
    ...detail("CPU", `${percent(system.cpuUsage)} of ${count(system.cpuCount)} cores`),
    ...detail("Load average", load ? `${load.one.toFixed(2)} · ${load.five.toFixed(2)} · ${load.fifteen.toFixed(2)}` : MISSING),
    ...detail("Memory", system.memory ? `${bytes(system.memory.usedBytes)} of ${bytes(system.memory.totalBytes)} (${percent(system.memory.usage)})` : MISSING),
    ...detail("Process", system.process ? `RSS ${bytes(system.process.residentMemoryBytes)} · CPU ${percent(system.process.cpuUsage)} · pid ${system.process.pid}` : MISSING),
    ...detail("Network", system.network ? `↓ ${bytes(system.network.receivedBytesPerSecond)}/s · ↑ ${bytes(system.network.transmittedBytesPerSecond)}/s` : MISSING),
    ...detail("Disk I/O", system.diskIo ? `read ${bytes(system.diskIo.readBytesPerSecond)}/s · write ${bytes(system.diskIo.writtenBytesPerSecond)}/s` : MISSING),
  ];
  for (const disk of system.disks || []) {
    const meter = el("meter", null, null);
    meter.min = 0;
    meter.max = 1;
    meter.high = 0.85;
    meter.value = disk.usage;
    meter.setAttribute("aria-label", `${disk.mountPoint} used`);
    rows.push(el("dt", null, `Disk ${disk.mountPoint}`), el("dd", null, `${percent(disk.usage, 0)} of ${bytes(disk.totalBytes)} `, meter));
  }
  fill("system-details", ...rows);
}

function renderErrors() {
  const errors = state.dashboard?.metrics?.application?.errors;
  const rows = Object.entries(errors?.byKind || {})
    .sort((a, b) => b[1] - a[1])
    .map(([kind, n]) => el("tr", null, null, el("td", null, kind), el("td", "num", count(n))));
  if (errors?.other) rows.push(el("tr", null, null, el("td", null, "other"), el("td", "num", count(errors.other))));
  fill("errors-body", ...(rows.length ? rows : [el("tr", null, null, el("td", "empty", `No errors recorded${errors ? ` (${count(errors.serverErrors)} server errors)` : ""}.`), el("td"))]));
}

/**
 * A route's latest slow trace: its id linked through the configured template (`traceUrl`,
 * `{traceId}` replaced), the id alone without one, a dash without a sampled request.
 */
function traceCell(traceId, template) {
  if (!traceId) return el("td", "trace", "—");
  const short = el("code", null, `${traceId.slice(0, 8)}…`);
  if (!template || !/^https?:\/\//.test(template)) {
    const cell = el("td", "trace", null, short);
    cell.title = traceId;
    return cell;
  }
  const link = el("a", null, null, short);
  link.href = template.split("{traceId}").join(encodeURIComponent(traceId));
  link.title = `trace ${traceId}`;
  link.target = "_blank";
  link.rel = "noopener noreferrer";
  link.dataset.traceId = traceId;
  return el("td", "trace", null, link);
}

function renderRoutes() {
  const routes = state.dashboard?.metrics?.application?.routes?.slowest || [];
  const template = state.dashboard?.traceUrl;
  fill(
    "routes-body",
    ...(routes.length
      ? routes.map((route) => el("tr", null, null, el("td", "route", route.route), el("td", "num", count(route.count)), el("td", "num", count(route.errors)), el("td", "num", millis(route.avg)), el("td", "num", millis(route.p95)), traceCell(route.slowTraceId, template)))
      : [el("tr", null, null, el("td", "empty", "No requests recorded yet."))]),
  );
}

/** The Metrics tab's tables and details (the charts are drawn when due: see renderCharts). */
export function renderMetricDetails() {
  renderSystem();
  renderErrors();
  renderRoutes();
}
