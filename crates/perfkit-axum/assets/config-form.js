// The optimizer config as a form: built from the server's JSON, read back into JSON, with
// the server's validation problems ("section.field: why") shown beside their fields.

import { el, words } from "./format.js";

const fieldId = (path) => `config-${path.join("-")}`;

/** Settings the server reads as milliseconds. */
const isMillis = (path) => path[0] === "cooldowns" || /(Timeout|Window|Age)$/.test(path[path.length - 1]);

function field(path, value) {
  const id = fieldId(path);
  const name = words(path[path.length - 1]);
  const label = el("label", null, typeof value === "number" && isMillis(path) ? `${name} (ms)` : name);
  label.htmlFor = id;
  const input = document.createElement("input");
  input.id = id;
  input.name = path.join(".");
  input.dataset.path = path.join(".");
  if (typeof value === "boolean") {
    input.type = "checkbox";
    input.checked = value;
    input.dataset.kind = "boolean";
  } else if (typeof value === "number") {
    input.type = "number";
    input.step = "any";
    input.value = String(value);
    input.dataset.kind = "number";
    input.inputMode = "decimal";
  } else if (Array.isArray(value)) {
    input.type = "text";
    input.value = value.join(", ");
    input.dataset.kind = "list";
    input.placeholder = "comma-separated";
  } else {
    input.type = "text";
    input.value = value === null ? "" : String(value);
    input.dataset.kind = "text";
  }
  const problem = el("span", "field-problem");
  problem.id = `${id}-problem`;
  problem.setAttribute("role", "alert");
  input.setAttribute("aria-describedby", problem.id);
  return el("div", `field field-${input.dataset.kind}`, null, label, input, problem);
}

function section(path, object) {
  const fields = [];
  for (const [name, value] of Object.entries(object)) {
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      fields.push(section([...path, name], value));
    } else {
      fields.push(field([...path, name], value));
    }
  }
  if (path.length === 0) return fields;
  const group = el("fieldset", "config-section", null, el("legend", null, words(path[path.length - 1])));
  group.append(...fields);
  return group;
}

/** Fills `form` with a field per setting of `config`. */
export function renderConfig(form, config) {
  const sections = section([], config);
  form.replaceChildren(...sections);
}

/** The form's values, in the config's JSON shape. */
export function readConfig(form) {
  const config = {};
  for (const input of form.querySelectorAll("input[data-path]")) {
    const path = input.dataset.path.split(".");
    let target = config;
    for (const name of path.slice(0, -1)) target = target[name] ??= {};
    const name = path[path.length - 1];
    switch (input.dataset.kind) {
      case "boolean":
        target[name] = input.checked;
        break;
      case "number":
        // An empty or unparsable number is sent as it is written, so the server says why.
        target[name] = input.value.trim() === "" || Number.isNaN(Number(input.value)) ? input.value : Number(input.value);
        break;
      case "list":
        target[name] = input.value.split(",").map((item) => item.trim()).filter(Boolean);
        break;
      default:
        target[name] = input.value;
    }
  }
  return config;
}

/**
 * Shows each "path: message" problem beside its field (the closest enclosing setting when
 * the path names a section). Returns the problems no field could take.
 */
export function showProblems(form, problems) {
  for (const node of form.querySelectorAll(".field-problem")) node.textContent = "";
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  const unplaced = [];
  for (const problem of problems) {
    const split = problem.indexOf(": ");
    const path = split > 0 ? problem.slice(0, split) : "";
    const message = split > 0 ? problem.slice(split + 2) : problem;
    const input = path ? form.querySelector(`input[data-path="${CSS.escape(path)}"]`) : null;
    if (!input) {
      unplaced.push(problem);
      continue;
    }
    input.setAttribute("aria-invalid", "true");
    const slot = document.getElementById(`${input.id}-problem`);
    slot.textContent = slot.textContent ? `${slot.textContent}; ${message}` : message;
  }
  return unplaced;
}
