// How figures are written for people: units, rounding, ages, and small DOM helpers.

/** A figure that was not measured: shown as a dash, never as zero. */
export const MISSING = "—";

const isNumber = (value) => typeof value === "number" && Number.isFinite(value);

/** Milliseconds: "12.3 ms", "1.24 s". */
export function millis(value) {
  if (!isNumber(value)) return MISSING;
  if (value >= 1000) return `${(value / 1000).toFixed(2)} s`;
  if (value >= 100) return `${value.toFixed(0)} ms`;
  return `${value.toFixed(1)} ms`;
}

/** A ratio 0..1 as a percentage. */
export function percent(value, digits = 1) {
  if (!isNumber(value)) return MISSING;
  return `${(value * 100).toFixed(digits)} %`;
}

/** A plain count or rate with a unit. */
export function count(value, unit = "", digits = 0) {
  if (!isNumber(value)) return MISSING;
  const text = value.toLocaleString("en", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
  return unit ? `${text} ${unit}` : text;
}

/** Bytes in binary units: "512 B", "3.2 MiB". */
export function bytes(value) {
  if (!isNumber(value)) return MISSING;
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let size = value;
  let unit = 0;
  while (size >= 1024 && unit < units.length - 1) {
    size /= 1024;
    unit += 1;
  }
  return `${size.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

/** A duration in seconds, the two largest units: "3 h 12 min", "45 s". */
export function duration(seconds) {
  if (!isNumber(seconds) || seconds < 0) return MISSING;
  const parts = [
    [86400, "d"],
    [3600, "h"],
    [60, "min"],
    [1, "s"],
  ];
  const shown = [];
  let rest = Math.floor(seconds);
  for (const [size, unit] of parts) {
    if (rest >= size || (unit === "s" && shown.length === 0)) {
      shown.push(`${Math.floor(rest / size)} ${unit}`);
      rest %= size;
    }
    if (shown.length === 2) break;
  }
  return shown.join(" ");
}

/** How long ago an RFC 3339 time was: "just now", "12 s ago". */
export function ago(timestamp, now = Date.now()) {
  const at = Date.parse(timestamp);
  if (Number.isNaN(at)) return MISSING;
  const seconds = Math.max(0, (now - at) / 1000);
  return seconds < 2 ? "just now" : `${duration(seconds)} ago`;
}

/** A time of day in the browser's locale. */
export function clock(timestamp) {
  const at = new Date(timestamp);
  return Number.isNaN(at.getTime()) ? MISSING : at.toLocaleTimeString();
}

/** "optimizeCache" -> "Optimize cache". */
export function words(name) {
  const spaced = String(name).replace(/([a-z0-9])([A-Z])/g, "$1 $2").replace(/[_-]/g, " ").toLowerCase();
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
}

/** An element with a class and text, children appended. */
export function el(tag, className, text, ...children) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  for (const child of children) if (child) node.append(child);
  return node;
}

/** Replaces the children of the element with this id. */
export function fill(id, ...children) {
  const node = document.getElementById(id);
  if (node) node.replaceChildren(...children.filter(Boolean));
  return node;
}

/** Sets the text of the element with this id. */
export function text(id, value) {
  const node = document.getElementById(id);
  if (node) node.textContent = value;
  return node;
}
