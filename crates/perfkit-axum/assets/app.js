// The dashboard: loads the figures, draws the three tabs, follows the live stream, and
// sends the admin actions. Everything it shows comes from perfkit's JSON API.

import { LiveStream, admin, onTokenNeeded, read, token } from "./api.js";
import { lineChart, scoreRing, sparkline } from "./chart.js";
import { readConfig, renderConfig, showProblems } from "./config-form.js";
import { MISSING, ago, bytes, clock, count, duration, el, fill, millis, percent, text, words } from "./format.js";

const HISTORY_LIMIT = 1000;
/** Live snapshots trigger a refresh of everything else at most this often. */
const REFRESH_EVERY_MS = 2000;

const state = {
  dashboard: null,
  history: [],
  runs: [],
  config: null,
  snapshots: 0,
  chartsDirty: true,
  refreshTimer: null,
  lastRefresh: 0,
};

// ---------------------------------------------------------------- what is shown, and how

/** The seed's targets, beside the current figures. */
const TARGETS = [
  { label: "P95 response time", metric: "p95", target: "< 500 ms", met: (v) => v < 500, format: millis },
  { label: "Error rate", metric: "errorRate", target: "< 1 %", met: (v) => v < 0.01, format: (v) => percent(v, 2) },
  { label: "Cache hit rate", metric: "cacheHitRate", target: "> 80 %", met: (v) => v > 0.8, format: percent },
  { label: "Memory", metric: "memoryUsage", target: "< 70 %", met: (v) => v < 0.7, format: percent },
  { label: "CPU", metric: "cpuUsage", target: "< 60 %", met: (v) => v < 0.6, format: percent },
  { label: "Availability", metric: "availability", target: "> 99.9 %", met: (v) => v > 0.999, format: (v) => percent(v, 2) },
];

/** The eight key figures; `higherIsBetter` says which way an arrow is good news. */
const KEY_FIGURES = [
  { label: "Response time", metric: "responseTime", format: millis, higherIsBetter: false },
  { label: "P95", metric: "p95", format: millis, higherIsBetter: false },
  { label: "Throughput", metric: "throughput", format: (v) => count(v, "req/s", 1), higherIsBetter: true },
  { label: "Error rate", metric: "errorRate", format: (v) => percent(v, 2), higherIsBetter: false },
  { label: "Cache hit rate", metric: "cacheHitRate", format: percent, higherIsBetter: true },
  { label: "Memory", metric: "memoryUsage", format: percent, higherIsBetter: false },
  { label: "CPU", metric: "cpuUsage", format: percent, higherIsBetter: false },
  { label: "Connections", metric: "activeConnections", format: (v) => count(v), higherIsBetter: null },
];

const CHARTS = [
  { title: "Response time", format: millis, series: [["Average", "responseTime", "a"], ["P95", "p95", "b"], ["P99", "p99", "c"]] },
  { title: "Throughput", format: (v) => count(v, "req/s", 1), least: 10, series: [["Requests per second", "throughput", "a"]] },
  { title: "Error rate", format: (v) => percent(v, 1), least: 0.01, series: [["Errors", "errorRate", "c"]] },
  { title: "Cache hit rate", format: (v) => percent(v, 0), ceiling: 1, series: [["Hit rate", "cacheHitRate", "a"]] },
  { title: "Memory", format: (v) => percent(v, 0), ceiling: 1, series: [["Used", "memoryUsage", "b"]] },
  { title: "CPU", format: (v) => percent(v, 0), ceiling: 1, series: [["Busy", "cpuUsage", "a"]] },
  { title: "Connections", format: (v) => count(v, "", 1), least: 4, series: [["Open", "activeConnections", "b"]] },
  { title: "Queue", format: (v) => count(v, "", 1), least: 4, series: [["Waiting jobs", "queueLength", "c"]] },
];

const latest = () => state.history[state.history.length - 1] || state.dashboard?.summary?.snapshot || null;

/** Requests answered without a 5xx over the history (request-weighted). */
function availability() {
  let requests = 0;
  let failed = 0;
  for (const snapshot of state.history) {
    const n = snapshot.requestCount;
    if (typeof n !== "number" || !(n > 0)) continue;
    requests += n;
    failed += n * (typeof snapshot.errorRate === "number" ? snapshot.errorRate : 0);
  }
  return requests > 0 ? 1 - failed / requests : null;
}

function figure(metric) {
  if (metric === "availability") return availability();
  const snapshot = latest();
  const value = snapshot ? snapshot[metric] : null;
  if (metric === "cacheHitRate" && (value === null || value === undefined)) {
    // The cache's own running figure, when the last interval saw no lookups; none before any.
    const cache = state.dashboard?.cache;
    return cache && cache.hits + cache.misses > 0 ? cache.hitRate : null;
  }
  return value ?? null;
}

// ---------------------------------------------------------------- Overview

function renderScore() {
  const score = state.dashboard?.summary?.score;
  const value = score ? Math.round(score.score) : null;
  const status = score?.status || "unknown";
  text("score-value", value === null ? MISSING : String(value));
  scoreRing(document.getElementById("score-ring"), value, status);
  const badge = text("score-status", status === "unknown" ? "waiting for data" : words(status));
  badge.className = `status-badge status-${status}`;
  const health = state.dashboard?.health;
  if (health) {
    const down = Object.entries(health.checks || {}).filter(([, check]) => check.status !== "healthy");
    const detail = down.length ? down.map(([name, check]) => `${words(name)}: ${check.detail}`).join(" · ") : "every check passes";
    text("health-line", `${words(health.status)} · ${detail}`);
  }
}

function renderTargets() {
  const rows = TARGETS.map((target) => {
    const value = figure(target.metric);
    const known = typeof value === "number";
    const met = known && target.met(value);
    const mark = el("span", `met ${known ? (met ? "yes" : "no") : "unknown"}`, known ? (met ? "✓" : "✗") : "·");
    mark.setAttribute("aria-label", known ? (met ? "met" : "missed") : "not measured");
    return el("tr", null, null, el("th", null, target.label), el("td", "muted", target.target), el("td", "num", target.format(value)), el("td", null, null, mark));
  });
  const span = historySpan();
  const uptime = el("tr", "uptime-row", null, el("th", null, "History covers"), el("td", "muted", ""), el("td", "num", span === null ? MISSING : duration(span)), el("td"));
  uptime.title = "Time covered by the history the server keeps";
  fill("targets-body", ...rows, uptime);
}

function historySpan() {
  if (state.history.length < 2) return null;
  return (Date.parse(state.history[state.history.length - 1].timestamp) - Date.parse(state.history[0].timestamp)) / 1000;
}

function trendOf(metric) {
  return (state.dashboard?.trends || []).find((trend) => trend.metric === metric) || null;
}

function trendArrow(spec) {
  const trend = trendOf(spec.metric);
  if (!trend) return el("span", "trend none", "–");
  const rising = trend.slopePerHour > 0;
  const arrow = trend.direction === "stable" ? "→" : rising ? "↑" : "↓";
  const node = el("span", `trend ${trend.direction}`, `${arrow} ${words(trend.direction)}`);
  node.title = `${percent(trend.relativeChange, 1)} over ${trend.points} snapshots`;
  return node;
}

function renderKeyFigures() {
  const cards = KEY_FIGURES.map((spec) => {
    const values = state.history.map((snapshot) => snapshot[spec.metric]);
    const card = el(
      "article",
      "figure-card",
      null,
      el("h3", null, spec.label),
      el("p", "figure-value", spec.format(figure(spec.metric))),
      el("div", "figure-foot", null, trendArrow(spec), sparkline(values, spec.higherIsBetter === false ? "b" : "a")),
    );
    card.dataset.metric = spec.metric;
    return card;
  });
  fill("key-figures", ...cards);
}

function severityBadge(severity) {
  return el("span", `severity severity-${severity}`, words(severity));
}

function renderAlerts() {
  const active = state.dashboard?.alerts?.active || [];
  text("alerts-count", String(active.length));
  if (active.length === 0) {
    fill("alerts-list", el("li", "empty", "No active alerts. All rules are quiet."));
    return;
  }
  fill(
    "alerts-list",
    ...active.map((alert) => {
      const summary = alert.annotations?.summary || words(alert.rule);
      const since = el("time", "muted", `since ${clock(alert.activeSince)} (${ago(alert.activeSince)})`);
      since.dateTime = alert.activeSince;
      return el("li", "item", null, el("div", "item-head", null, severityBadge(alert.severity), el("strong", null, words(alert.rule)), el("span", `phase phase-${alert.state}`, words(alert.state))), el("p", null, summary), since);
    }),
  );
}

function recommendationItem(recommendation, withFigures) {
  const figures = Object.entries(recommendation.figures || {}).map(([name, value]) => `${words(name)} ${Number(value).toLocaleString("en", { maximumFractionDigits: 3 })}`);
  return el(
    "li",
    "item",
    null,
    el("div", "item-head", null, severityBadge(recommendation.priority), el("strong", null, words(recommendation.action))),
    el("p", null, recommendation.reason),
    recommendation.expectedEffect ? el("p", "muted", `Expected: ${recommendation.expectedEffect}`) : null,
    withFigures && figures.length ? el("p", "muted small", figures.join(" · ")) : null,
  );
}

function renderRecommendations() {
  const top = state.dashboard?.summary?.topRecommendations || [];
  fill("top-recs", ...(top.length ? top.map((r) => recommendationItem(r, false)) : [el("li", "empty", "Nothing to do: every rule is satisfied.")]));
  const all = state.dashboard?.optimization?.recommendations || [];
  fill("recs-list", ...(all.length ? all.map((r) => recommendationItem(r, true)) : [el("li", "empty", "No recommendations right now.")]));
}

// ---------------------------------------------------------------- Metrics

function renderCharts() {
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
  state.chartsDirty = false;
}

function detail(term, value) {
  return [el("dt", null, term), el("dd", null, value)];
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

function renderRoutes() {
  const routes = state.dashboard?.metrics?.application?.routes?.slowest || [];
  fill(
    "routes-body",
    ...(routes.length
      ? routes.map((route) => el("tr", null, null, el("td", "route", route.route), el("td", "num", count(route.count)), el("td", "num", count(route.errors)), el("td", "num", millis(route.avg)), el("td", "num", millis(route.p95))))
      : [el("tr", null, null, el("td", "empty", "No requests recorded yet."))]),
  );
}

// ---------------------------------------------------------------- Optimization

function renderOptimizer() {
  const optimization = state.dashboard?.optimization;
  if (!optimization) return;
  document.getElementById("opt-auto").checked = Boolean(optimization.auto);
  document.getElementById("opt-dry-run").checked = Boolean(optimization.dryRun);
}

function renderCache() {
  const cache = state.dashboard?.cache;
  if (!cache) {
    fill("cache-stats", ...detail("Cache", "not reachable"));
    return;
  }
  fill(
    "cache-stats",
    ...detail("Backend", `${cache.backend}${cache.connected ? "" : " (disconnected)"}`),
    ...detail("Hit rate", `${percent(cache.hitRate)} (${count(cache.hits)} hits, ${count(cache.misses)} misses)`),
    ...detail("Keys", `${count(cache.keys)} · ${bytes(cache.bytes)}`),
    ...detail("Evictions", count(cache.evictions)),
    ...detail("Errors", count(cache.errors)),
  );
}

function beforeAfter(result) {
  if (!result || !result.before || !result.after) return null;
  const names = [...new Set([...Object.keys(result.before), ...Object.keys(result.after)])];
  const show = (value) => (typeof value === "number" ? value.toLocaleString("en", { maximumFractionDigits: 3 }) : MISSING);
  return el("span", "muted small", names.map((name) => `${words(name)} ${show(result.before[name])} → ${show(result.after[name])}`).join(" · "));
}

function runRow(run) {
  const actions = (run.actions || []).map((action) =>
    el("li", null, null, el("strong", null, words(action.action)), el("span", `status-chip chip-${action.status}`, words(action.status)), action.result?.summary ? el("span", null, ` ${action.result.summary} `) : null, beforeAfter(action.result)),
  );
  for (const error of run.errors || []) actions.push(el("li", "error-text", typeof error === "string" ? error : JSON.stringify(error)));
  if (actions.length === 0) actions.push(el("li", "muted", (run.notes || []).join(" ") || "nothing needed doing"));
  const trigger = el("td", null, words(run.trigger));
  if (run.mode?.dryRun) trigger.append(el("span", "status-chip chip-dry", "dry run"));
  const when = el("time", null, clock(run.at));
  when.dateTime = run.at;
  const row = el("tr", null, null, el("td", "num", `#${run.id}`), el("td", null, null, when), trigger, el("td", null, null, el("ul", "actions", null, ...actions)));
  row.dataset.run = String(run.id);
  return row;
}

function renderRuns() {
  fill("runs-body", ...(state.runs.length ? state.runs.map(runRow) : [el("tr", null, null, el("td", "empty", "No runs yet."))]));
}

async function loadRuns() {
  const answer = await read("/optimization/history?limit=25");
  if (answer.ok) {
    state.runs = answer.body;
    renderRuns();
  }
}

async function loadConfig() {
  const answer = await read("/optimization/config");
  if (answer.ok) {
    state.config = answer.body;
    renderConfig(document.getElementById("config-fields"), answer.body);
    text("config-result", "");
  } else {
    text("config-result", `Could not load the config: ${answer.describe()}`);
  }
}

function report(id, answer, success) {
  const node = text(id, answer.ok ? success(answer.body) : answer.describe());
  node.className = `result ${answer.ok ? "ok" : "error"}`;
}

async function runOptimizer(path) {
  text("opt-result", "Running…").className = "result";
  const answer = await admin("POST", path);
  report("opt-result", answer, (run) => {
    const taken = (run.actions || []).filter((action) => action.status === "taken").length;
    return `Run #${run.id}: ${run.actions.length} action(s) considered, ${taken} taken${run.mode?.dryRun ? " (dry run)" : ""}.`;
  });
  if (answer.ok) {
    upsertRun(answer.body);
    scheduleRefresh(0);
  }
}

function upsertRun(run) {
  state.runs = [run, ...state.runs.filter((known) => known.id !== run.id)].sort((a, b) => b.id - a.id).slice(0, 50);
  renderRuns();
}

async function setAuto(input) {
  const answer = await admin("PUT", "/optimization/auto", { enabled: input.checked });
  report("opt-result", answer, (body) => `Automatic optimization is ${body.enabled ? "on" : "off"}.`);
  if (!answer.ok) input.checked = !input.checked;
}

async function setDryRun(input) {
  if (!state.config) await loadConfig();
  if (!state.config) {
    input.checked = !input.checked;
    return;
  }
  const config = structuredClone(state.config);
  config.mode = { ...config.mode, dryRun: input.checked };
  const answer = await admin("PUT", "/optimization/config", config);
  report("opt-result", answer, (body) => `Dry run is ${body.mode.dryRun ? "on: decisions are recorded, nothing is changed" : "off"}.`);
  if (answer.ok) {
    state.config = answer.body;
    renderConfig(document.getElementById("config-fields"), answer.body);
  } else {
    input.checked = !input.checked;
  }
}

async function saveConfig(event) {
  event.preventDefault();
  const form = document.getElementById("config-fields");
  const answer = await admin("PUT", "/optimization/config", readConfig(form));
  const problems = answer.body?.error?.problems || [];
  const unplaced = showProblems(form, problems);
  report("config-result", answer, () => "Saved: the optimizer uses this config now.");
  if (!answer.ok && unplaced.length) text("config-result", `${answer.describe()}`);
  if (answer.ok) {
    state.config = answer.body;
    renderConfig(form, answer.body);
    renderOptimizerMode(answer.body);
  } else if (problems.length) {
    form.querySelector("[aria-invalid]")?.focus();
  }
}

function renderOptimizerMode(config) {
  document.getElementById("opt-dry-run").checked = Boolean(config.mode?.dryRun);
  document.getElementById("opt-auto").checked = Boolean(config.mode?.auto);
}

// ---------------------------------------------------------------- loading and live

function renderAll() {
  renderScore();
  renderTargets();
  renderKeyFigures();
  renderAlerts();
  renderRecommendations();
  renderSystem();
  renderErrors();
  renderRoutes();
  renderOptimizer();
  renderCache();
  if (!document.getElementById("panel-metrics").hidden || state.chartsDirty) renderCharts();
}

async function refresh() {
  state.lastRefresh = Date.now();
  const answer = await read("/dashboard");
  if (!answer.ok) return;
  state.dashboard = answer.body;
  renderAll();
}

function scheduleRefresh(delay) {
  if (state.refreshTimer) return;
  const wait = delay ?? Math.max(0, REFRESH_EVERY_MS - (Date.now() - state.lastRefresh));
  state.refreshTimer = setTimeout(() => {
    state.refreshTimer = null;
    refresh();
  }, wait);
}

function takeSnapshot(snapshot) {
  const last = state.history[state.history.length - 1];
  if (last && Date.parse(snapshot.timestamp) <= Date.parse(last.timestamp)) return;
  state.history.push(snapshot);
  if (state.history.length > HISTORY_LIMIT) state.history.splice(0, state.history.length - HISTORY_LIMIT);
  state.snapshots += 1;
  document.body.dataset.snapshots = String(state.snapshots);
  document.body.dataset.latest = snapshot.timestamp;
  state.chartsDirty = true;
  renderTargets();
  renderKeyFigures();
  if (!document.getElementById("panel-metrics").hidden) renderCharts();
  updateAge();
  scheduleRefresh();
}

function onEvent(event) {
  if (event.type === "snapshot") takeSnapshot(event.data);
  else if (event.type === "optimization") {
    upsertRun(event.data);
    scheduleRefresh();
  } else if (event.type === "alert") scheduleRefresh(0);
}

const LIVE_WORDS = { connecting: "Connecting…", live: "Live", offline: "Offline", paused: "Paused" };

function onLiveState(live, retryIn) {
  document.body.dataset.live = live;
  const pill = text("live-state", live === "offline" && retryIn ? `Offline · retrying in ${Math.ceil(retryIn / 1000)} s` : LIVE_WORDS[live]);
  pill.className = `pill pill-${live}`;
  const toggle = document.getElementById("monitor-toggle");
  const monitoring = live !== "paused";
  toggle.setAttribute("aria-pressed", String(monitoring));
  toggle.textContent = monitoring ? "Stop monitoring" : "Start monitoring";
}

/** The collection interval, estimated from the history's last gaps. */
function collectInterval() {
  const recent = state.history.slice(-6);
  if (recent.length < 2) return 30;
  const gaps = recent.slice(1).map((snapshot, i) => (Date.parse(snapshot.timestamp) - Date.parse(recent[i].timestamp)) / 1000);
  return gaps.sort((a, b) => a - b)[Math.floor(gaps.length / 2)];
}

function updateAge() {
  const snapshot = latest();
  const node = document.getElementById("figures-age");
  if (!snapshot) {
    node.textContent = "no figures yet";
    return;
  }
  const age = (Date.now() - Date.parse(snapshot.timestamp)) / 1000;
  node.textContent = `figures from ${ago(snapshot.timestamp)}`;
  node.classList.toggle("stale", age > Math.max(10, 3 * collectInterval()));
}

// ---------------------------------------------------------------- tabs, token, controls

function setupTabs() {
  const tabs = [...document.querySelectorAll('[role="tab"]')];
  const select = (tab, focus) => {
    for (const other of tabs) {
      const selected = other === tab;
      other.setAttribute("aria-selected", String(selected));
      other.tabIndex = selected ? 0 : -1;
      document.getElementById(other.getAttribute("aria-controls")).hidden = !selected;
    }
    if (focus) tab.focus();
    if (tab.id === "tab-metrics" && state.chartsDirty) renderCharts();
    if (tab.id === "tab-optimization" && !state.config) {
      loadConfig();
      loadRuns();
    }
    history.replaceState(null, "", `#${tab.id.slice(4)}`);
  };
  for (const tab of tabs) {
    tab.addEventListener("click", () => select(tab, false));
    tab.addEventListener("keydown", (event) => {
      const index = tabs.indexOf(tab);
      const next = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: tabs.length - 1 }[event.key];
      if (next === undefined) return;
      event.preventDefault();
      select(tabs[(next + tabs.length) % tabs.length], true);
    });
  }
  const wanted = tabs.find((tab) => `#${tab.id.slice(4)}` === location.hash);
  if (wanted) select(wanted, false);
}

function setupTokenDialog() {
  const dialog = document.getElementById("token-dialog");
  const input = document.getElementById("token-input");
  let pending = null;
  let asking = null;
  const settle = (value) => {
    if (dialog.open) dialog.close();
    input.value = "";
    const resolve = pending;
    pending = null;
    asking = null;
    if (resolve) resolve(value);
  };
  // Requests that need the token at the same moment share one question.
  const ask = (reason) =>
    (asking ??= new Promise((resolve) => {
      pending = resolve;
      text("token-reason", reason);
      input.value = "";
      dialog.showModal();
      input.focus();
    }));
  onTokenNeeded(ask);
  document.getElementById("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    settle(input.value.trim() || null);
  });
  document.getElementById("token-cancel").addEventListener("click", () => settle(null));
  dialog.addEventListener("cancel", (event) => {
    event.preventDefault();
    settle(null);
  });
  document.getElementById("token-button").addEventListener("click", async () => {
    const given = await ask(token.get() ? "Replace the token this tab uses (leave empty to forget it)." : "Set the admin token for this tab.");
    if (given) token.set(given);
    else token.forget();
    updateTokenButton();
  });
}

function updateTokenButton() {
  text("token-button", token.get() ? "Admin token ✓" : "Admin token");
}

function setupControls(live) {
  document.getElementById("monitor-toggle").addEventListener("click", () => {
    if (live.running) live.stop();
    else live.start();
  });
  const after = (action) => async (...args) => {
    await action(...args);
    updateTokenButton();
  };
  document.getElementById("opt-run").addEventListener("click", after(() => runOptimizer("/optimization/run")));
  document.getElementById("opt-force").addEventListener("click", after(() => runOptimizer("/optimization/force")));
  document.getElementById("opt-auto").addEventListener("change", after((event) => setAuto(event.target)));
  document.getElementById("opt-dry-run").addEventListener("change", after((event) => setDryRun(event.target)));
  document.getElementById("cache-optimize").addEventListener(
    "click",
    after(async () => {
      const answer = await admin("POST", "/cache/optimize");
      report("cache-result", answer, (body) => body.summary || "Cache optimized.");
      scheduleRefresh(0);
    }),
  );
  document.getElementById("cache-clear").addEventListener(
    "click",
    after(async () => {
      const answer = await admin("DELETE", "/cache");
      report("cache-result", answer, (body) => `Cleared ${count(body.deleted)} key(s).`);
      scheduleRefresh(0);
    }),
  );
  document.getElementById("prefix-form").addEventListener(
    "submit",
    after(async (event) => {
      event.preventDefault();
      const pattern = document.getElementById("cache-prefix").value.trim();
      const answer = await admin("DELETE", "/cache/pattern", { pattern });
      report("cache-result", answer, (body) => `Cleared ${count(body.deleted)} key(s) under “${pattern}”.`);
      scheduleRefresh(0);
    }),
  );
  document.getElementById("config-form").addEventListener("submit", after(saveConfig));
  document.getElementById("config-reload").addEventListener("click", () => loadConfig());
}

async function start() {
  setupTabs();
  setupTokenDialog();
  updateTokenButton();
  const [dashboard, history] = await Promise.all([read("/dashboard"), read(`/history?limit=${HISTORY_LIMIT}`)]);
  if (dashboard.ok) state.dashboard = dashboard.body;
  if (history.ok) state.history = history.body;
  state.lastRefresh = Date.now();
  renderAll();
  renderCharts();
  updateAge();
  performance.mark("perfkit:drawn");
  document.body.dataset.ready = dashboard.ok ? "true" : "error";
  if (!dashboard.ok) text("health-line", `The dashboard could not load its figures: ${dashboard.describe()}`);
  const live = new LiveStream(onEvent, onLiveState);
  setupControls(live);
  live.start();
  setInterval(updateAge, 1000);
}

start();
