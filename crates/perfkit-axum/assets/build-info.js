// The footer's line about the server: name, version, commit, uptime and compiler, asked of
// GET /info once at load; the uptime then ticks here, from the answer and this tab's clock.

import { read } from "./api.js";
import { duration } from "./format.js";

async function showBuildInfo() {
  const node = document.getElementById("build-info");
  if (!node) return;
  const answer = await read("/info");
  if (!answer.ok || !answer.body) return;
  const info = answer.body;
  // Counted from when the answer came, so a skewed clock in the browser cannot move it.
  const answeredAt = performance.now();
  const rustc = String(info.rustc).startsWith("rustc") ? info.rustc : `rustc ${info.rustc}`;
  const show = () => {
    const up = info.uptimeSeconds + (performance.now() - answeredAt) / 1000;
    node.textContent = `${info.name} ${info.version} (${info.gitCommit}) · up ${duration(up)} · ${rustc}`;
  };
  show();
  node.title = `built ${info.buildTime ?? "at an unknown time"} · started ${info.startTime} · config: ${info.configSource}` +
    (info.features.length ? ` · features: ${info.features.join(", ")}` : "");
  document.body.dataset.buildInfo = "shown";
  setInterval(show, 1000);
}

showBuildInfo();
