// The Overview tab: score and status, the targets, the key figures with their trends,
// active alerts and the top recommendations.

import { scoreRing, sparkline } from "./chart.js";
import { MISSING, ago, clock, count, duration, el, fill, millis, percent, text, words } from "./format.js";
import { figure, state, trendOf } from "./state.js";

/** How each of the server's targets (`summary.targets`) is written; whether one is met is the server's word. */
const TARGET_LABELS = {
  p95: { label: "P95 response time", format: millis },
  errorRate: { label: "Error rate", format: (v) => percent(v, 2) },
  cacheHitRate: { label: "Cache hit rate", format: percent },
  memoryUsage: { label: "Memory", format: percent },
  cpuUsage: { label: "CPU", format: percent },
  availability: { label: "Availability", format: (v) => percent(v, 2) },
};

const targetLabel = (check) => TARGET_LABELS[check.metric]?.label || words(check.metric);
const targetLine = (check) => {
  const line = check.metric === "p95" ? `${check.target} ms` : `${+(check.target * 100).toFixed(3)} %`;
  return `${check.side === "below" ? "<" : ">"} ${line}`;
};
const targets = () => state.dashboard?.summary?.targets || [];
const missedTargets = () => targets().filter((check) => check.met === false);

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
  if (health) text("health-line", healthLine(health));
  text("interval-line", intervalLine());
}

/**
 * The words under the score, from the same figures the page shows: the server's targets,
 * the alerts firing and the components' health checks. "Every check passes" speaks of the
 * components only, and never stands alone beside a missed target or a firing alert.
 */
function healthLine(health) {
  const parts = [];
  const missed = missedTargets();
  if (missed.length) parts.push(`${missed.length} ${missed.length === 1 ? "target" : "targets"} missed: ${missed.map(targetLabel).join(", ")}`);
  const firing = state.dashboard?.summary?.activeAlerts || 0;
  if (firing) parts.push(`${firing} ${firing === 1 ? "alert" : "alerts"} active`);
  const down = Object.entries(health.checks || {}).filter(([, check]) => check.status !== "healthy");
  parts.push(...down.map(([name, check]) => `${words(name)}: ${check.detail}`));
  if (parts.length === 0) return `${words(health.status)} · every target met · no alert active · every check passes`;
  parts.push(down.length ? `components ${health.status}` : "every component check passes");
  return parts.join(" · ");
}

/** Which interval the figures cover and when the next one closes (the summary's words). */
function intervalLine() {
  const summary = state.dashboard?.summary;
  const interval = summary?.interval;
  if (!interval) return "No interval closed yet: figures appear at the first collection.";
  // Under a minute the tenths count (a 1 s interval must not read "0 s").
  const length = interval.seconds < 60 ? `${+interval.seconds.toFixed(1)} s` : duration(interval.seconds);
  const covered = `Figures of the ${length} interval ${clock(interval.start)}–${clock(interval.end)}`;
  return summary.nextCloseAt ? `${covered} · next closes at ${clock(summary.nextCloseAt)}` : covered;
}

export function renderTargets() {
  const rows = targets().map((check) => {
    const format = TARGET_LABELS[check.metric]?.format || String;
    const known = typeof check.met === "boolean";
    const mark = el("span", `met ${known ? (check.met ? "yes" : "no") : "unknown"}`, known ? (check.met ? "✓" : "✗") : "·");
    mark.setAttribute("aria-label", known ? (check.met ? "met" : "missed") : "not measured");
    const row = el("tr", null, null, el("th", null, targetLabel(check)), el("td", "muted", targetLine(check)), el("td", "num", format(check.value)), el("td", null, null, mark));
    row.dataset.metric = check.metric;
    if (typeof check.value === "number") row.dataset.value = String(check.value);
    return row;
  });
  const span = historySpan();
  const covers = el("tr", "uptime-row", null, el("th", null, "History covers"), el("td", "muted", ""), el("td", "num", span === null ? MISSING : duration(span)), el("td"));
  covers.title = "Time covered by the history the server keeps";
  const snapshot = state.dashboard?.summary?.snapshot;
  const up = snapshot?.uptime;
  const uptime = el("tr", "uptime-row", null, el("th", null, "Process uptime"), el("td", "muted", "since start"), el("td", "num", typeof up === "number" ? duration(up) : MISSING), el("td"));
  uptime.title = "The recorder's uptime at the summary's snapshot";
  uptime.dataset.metric = "uptime";
  if (typeof up === "number") uptime.dataset.value = String(up);
  fill("targets-body", ...rows, uptime, covers);
  const body = document.getElementById("targets-body");
  if (body && snapshot) body.dataset.snapshot = snapshot.timestamp;
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
  fill("top-recs", ...(top.length ? top.map((r) => recommendationItem(r, false)) : [el("li", "empty", nothingRecommended())]));
  const all = state.dashboard?.optimization?.recommendations || [];
  fill("recs-list", ...(all.length ? all.map((r) => recommendationItem(r, true)) : [el("li", "empty", "No recommendations right now.")]));
}

/**
 * What an empty recommendation list says, from the same figures: "nothing to do" only while
 * every target is met and no alert is active; otherwise it names what is off and says that
 * no rule recommends an action for it now.
 */
function nothingRecommended() {
  const missed = missedTargets();
  const firing = state.dashboard?.summary?.activeAlerts || 0;
  if (!missed.length && !firing) return "Nothing to do: every target is met and no rule recommends an action.";
  const off = missed.map((check) => `${targetLabel(check).toLowerCase()} ${(TARGET_LABELS[check.metric]?.format || String)(check.value)} misses ${targetLine(check)}`);
  if (firing) off.push(`${firing} ${firing === 1 ? "alert is" : "alerts are"} active`);
  return `No rule recommends an action now, though ${off.join("; ")}.`;
}

/** Everything on the Overview (and the recommendations, which the Optimization tab shows too). */
export function renderOverview() {
  renderScore();
  renderTargets();
  renderKeyFigures();
  renderAlerts();
  renderRecommendations();
}
