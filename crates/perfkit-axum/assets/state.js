// The dashboard's state: what the server said last, the history of snapshots, and the
// figures read from them. Every tab renders from here.

import { el } from "./format.js";

/** Snapshots kept and asked for: the server's whole history (its default capacity). */
export const HISTORY_LIMIT = 1000;

export const state = {
  dashboard: null,
  history: [],
  runs: [],
  config: null,
  snapshots: 0,
  chartsDirty: true,
  refreshTimer: null,
  lastRefresh: 0,
};

/** Set by app.js: asks for a refresh of everything but the history, soon or after `delay`. */
export const refresher = { soon: (delay) => void delay };

export const latest = () => state.history[state.history.length - 1] || state.dashboard?.summary?.snapshot || null;

/**
 * The snapshot the key figures show: the summary's, which the targets, the score and the
 * words under it are judged on, so that every figure on the Overview is of one moment; the
 * stream's latest only before the first summary. The charts draw the whole history.
 */
const shown = () => state.dashboard?.summary?.snapshot || latest();

export function figure(metric) {
  const snapshot = shown();
  const value = snapshot ? snapshot[metric] : null;
  if (metric === "cacheHitRate" && (value === null || value === undefined)) {
    // The cache's own running figure, when the last interval saw no lookups; none before any.
    const cache = state.dashboard?.cache;
    return cache && cache.hits + cache.misses > 0 ? cache.hitRate : null;
  }
  return value ?? null;
}

export function trendOf(metric) {
  return (state.dashboard?.trends || []).find((trend) => trend.metric === metric) || null;
}

/** A term and its value for a <dl>. */
export function detail(term, value) {
  return [el("dt", null, term), el("dd", null, value)];
}
