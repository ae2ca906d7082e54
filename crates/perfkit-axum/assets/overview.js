// The Overview tab: score and status, the targets, the key figures with their trends,
// active alerts and the top recommendations.

import { scoreRing, sparkline } from "./chart.js";
import { MISSING, ago, clock, count, duration, el, fill, millis, percent, text, words } from "./format.js";
import { figure, state, trendOf } from "./state.js";

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

export function renderTargets() {
  const rows = TARGETS.map((target) => {
    const value = figure(target.metric);
    const known = typeof value === "number";
    const met = known && target.met(value);
    const mark = el("span", `met ${known ? (met ? "yes" : "no") : "unknown"}`, known ? (met ? "✓" : "✗") : "·");
    mark.setAttribute("aria-label", known ? (met ? "met" : "missed") : "not measured");
    return el("tr", null, null, el("th", null, target.label), el("td", "muted", target.target), el("td", "num", target.format(value)), el("td", null, null, mark));
  });
  const span = historySpan();
  const covers = el("tr", "uptime-row", null, el("th", null, "History covers"), el("td", "muted", ""), el("td", "num", span === null ? MISSING : duration(span)), el("td"));
  covers.title = "Time covered by the history the server keeps";
  const up = processUptime();
  const uptime = el("tr", "uptime-row", null, el("th", null, "Process uptime"), el("td", "muted", "since start"), el("td", "num", up === null ? MISSING : duration(up)), el("td"));
  uptime.title = "Time since the service's schedule started";
  fill("targets-body", ...rows, uptime, covers);
}

/** Seconds since the service started (the dashboard's `service.startedAt`), or null. */
function processUptime() {
  const started = Date.parse(state.dashboard?.service?.startedAt ?? "");
  return Number.isNaN(started) ? null : Math.max(0, (Date.now() - started) / 1000);
}

function historySpan() {
  if (state.history.length < 2) return null;
  return (Date.parse(state.history[state.history.length - 1].timestamp) - Date.parse(state.history[0].timestamp)) / 1000;
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

export function renderKeyFigures() {
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

/** Everything on the Overview (and the recommendations, which the Optimization tab shows too). */
export function renderOverview() {
  renderScore();
  renderTargets();
  renderKeyFigures();
  renderAlerts();
  renderRecommendations();
}
