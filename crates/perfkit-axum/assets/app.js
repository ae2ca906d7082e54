// The dashboard: loads the figures, draws the three tabs, follows the live stream, and
// sends the admin actions. Everything it shows comes from perfkit's JSON API.

import { LiveStream, onTokenNeeded, read, token } from "./api.js";
import { renderBusinessPanel } from "./business.js";
import { ago, text } from "./format.js";
import { renderCharts, renderMetricDetails } from "./metrics.js";
import { loadConfig, loadRuns, renderOptimization, setupOptimizationControls, upsertRun } from "./optimization.js";
import { renderKeyFigures, renderOverview, renderTargets } from "./overview.js";
import { HISTORY_LIMIT, latest, refresher, state } from "./state.js";

/** Live snapshots trigger a refresh of everything else at most this often. */
const REFRESH_EVERY_MS = 2000;

function renderAll() {
  renderOverview();
  renderBusinessPanel();
  renderMetricDetails();
  renderOptimization();
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
  renderBusinessPanel();
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
  setupOptimizationControls((action) => async (...args) => {
    await action(...args);
    updateTokenButton();
  });
}

async function start() {
  refresher.soon = scheduleRefresh;
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
