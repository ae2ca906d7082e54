// The Optimization tab: the optimizer's switches and runs, the cache's figures and
// actions, the run history with before/after figures, and the config form.

import { admin, read } from "./api.js";
import { readConfig, renderConfig, showProblems } from "./config-form.js";
import { MISSING, bytes, clock, count, el, fill, percent, text, words } from "./format.js";
import { detail, refresher, state } from "./state.js";

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
  // Keys and bytes are the namespace's own; on Redis they are counted by a background scan.
  const counting = cache.count && !cache.count.complete ? ", first count under way" : "";
  const estimate = cache.estimated ? ` (estimated${counting})` : "";
  const server = cache.server;
  // A prefix ends with ":" and stands for its keys; "(none)" and "(other)" are buckets.
  const pattern = (prefix) => (prefix.endsWith(":") ? `${prefix}*` : prefix);
  const reads = (figures) => `${percent(figures.hitRate)} of ${count(figures.hits + figures.misses)} reads`;
  fill(
    "cache-stats",
    ...detail("Backend", `${cache.backend}${cache.connected ? "" : " (disconnected)"}`),
    ...detail("Hit rate", `${percent(cache.hitRate)} (${count(cache.hits)} hits, ${count(cache.misses)} misses)`),
    ...detail("Keys", `${count(cache.keys)} · ${bytes(cache.bytes)}${estimate}`),
    ...(server ? detail("Redis server", `${count(server.dbKeys)} keys · ${bytes(server.usedMemory)}, every application's`) : []),
    ...detail("Evictions", count(cache.evictions)),
    ...detail("Errors", count(cache.errors)),
    ...(cache.prefixes || []).slice(0, 10).flatMap((p) => detail(pattern(p.prefix), `${reads(p)} · ${count(p.keys)} keys`)),
    ...(cache.hostCaches || []).flatMap((h) => detail(`${h.name} (host's cache)`, `${reads(h)} · ${count(h.writes)} writes`)),
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

export async function loadRuns() {
  const answer = await read("/optimization/history?limit=25");
  if (answer.ok) {
    state.runs = answer.body;
    renderRuns();
  }
}

export async function loadConfig() {
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
    refresher.soon(0);
  }
}

export function upsertRun(run) {
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

/** The Optimization tab's figures from the last dashboard document. */
export function renderOptimization() {
  renderOptimizer();
  renderCache();
}

/** Wires the tab's controls; `after` wraps each action (app.js updates the token button). */
export function setupOptimizationControls(after) {
  document.getElementById("opt-run").addEventListener("click", after(() => runOptimizer("/optimization/run")));
  document.getElementById("opt-force").addEventListener("click", after(() => runOptimizer("/optimization/force")));
  document.getElementById("opt-auto").addEventListener("change", after((event) => setAuto(event.target)));
  document.getElementById("opt-dry-run").addEventListener("change", after((event) => setDryRun(event.target)));
  document.getElementById("cache-optimize").addEventListener(
    "click",
    after(async () => {
      const answer = await admin("POST", "/cache/optimize");
      report("cache-result", answer, (body) => body.summary || "Cache optimized.");
      refresher.soon(0);
    }),
  );
  document.getElementById("cache-clear").addEventListener(
    "click",
    after(async () => {
      const answer = await admin("DELETE", "/cache");
      report("cache-result", answer, (body) => `Cleared ${count(body.deleted)} key(s).`);
      refresher.soon(0);
    }),
  );
  document.getElementById("prefix-form").addEventListener(
    "submit",
    after(async (event) => {
      event.preventDefault();
      const pattern = document.getElementById("cache-prefix").value.trim();
      const answer = await admin("DELETE", "/cache/pattern", { pattern });
      report("cache-result", answer, (body) => `Cleared ${count(body.deleted)} key(s) under “${pattern}”.`);
      refresher.soon(0);
    }),
  );
  document.getElementById("config-form").addEventListener("submit", after(saveConfig));
  document.getElementById("config-reload").addEventListener("click", () => loadConfig());
}
