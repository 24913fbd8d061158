// The rule editor: a form over a rule's JSON (the fields people change; the others are kept as they were), with
// the signal's description, parameters and the labels it can group by shown as the signal is picked. "Validate"
// asks the server (its message names the field), "Dry run" draws what the rule would have done over the last
// 7 days, "Save" creates or replaces it.

import { ApiError, describe, send } from "../../api.js";
import { clear, h } from "../../dom.js";
import { input, say } from "../access/common.js";
import { OPS, SEVERITIES, list, pairsText, parsePairs } from "./common.js";
import { drawDryRun } from "./dryrun.js";

const DAYS = 7;
const STEP_S = 3600;

const select = (name, options, value) =>
  h("select", { name }, options.map(([v, label]) => h("option", { value: v, selected: v === value }, label)));

// A duration as typed: seconds as a number, anything else ("15m") as the text.
function duration(text) {
  const t = String(text || "").trim();
  if (t === "") return undefined;
  return /^\d+(\.\d+)?$/.test(t) ? Number(t) : t;
}

const slug = (text) => String(text || "").toLowerCase().replace(/[^a-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 64);

// The rule the form describes: `base` (the rule being edited) with the form's fields over it.
function collect(form, base, keys, signal) {
  const f = form.elements;
  const rule = { ...base };
  delete rule.source;
  delete rule.state_counts;
  rule.id = base.id || f.id.value.trim() || slug(f.name.value);
  rule.name = f.name.value.trim();
  rule.signal = f.signal.value;
  rule.op = f.op.value;
  const threshold = f.threshold.value.trim();
  rule.threshold = threshold !== "" && Number.isFinite(Number(threshold)) ? Number(threshold) : threshold; // the server names a bad one
  for (const [key, field] of [[keys.window, f.window], [keys.for, f.for]]) {
    const value = duration(field.value);
    if (value === undefined) delete rule[key];
    else rule[key] = value;
  }
  rule.severity = f.severity.value;
  rule.group_by = [...form.querySelectorAll('input[name="group_by"]:checked')].map((c) => c.value);
  rule.filters = parsePairs(f.filters.value, { many: true });
  rule.labels = parsePairs(f.labels.value);
  const params = {};
  for (const field of form.querySelectorAll("[data-param]")) {
    const v = field.value.trim();
    if (v !== "") params[field.dataset.param] = /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v;
  }
  if (signal && Object.keys(signal.params || {}).length) rule.params = params;
  else if (!Object.keys(rule.params || {}).length) delete rule.params;
  rule.summary = f.summary.value;
  rule.channels = list(f.channels.value);
  rule.enabled = f.enabled.checked;
  return rule;
}

// What a picked signal means, and its parameters and grouping labels as fields (filled from `rule`).
function signalParts(signal, rule) {
  if (!signal) return [h("p", { class: "hint" }, "Unknown signal.")];
  const params = Object.entries(signal.params || {});
  return [
    h("p", { class: "hint signal-about", "data-signal": signal.name }, signal.description || "", signal.unit ? ` (${signal.unit})` : "",
      signal.default_window_s ? `, default window ${signal.default_window_s} s` : ""),
    params.length
      ? h("div", { class: "fields" }, params.map(([name, meaning]) =>
          h("label", { title: meaning }, `${name}: ${meaning}`,
            h("input", { name: `param-${name}`, "data-param": name, value: rule.params?.[name] ?? "" }))))
      : "",
    (signal.group_by || []).length
      ? h("fieldset", { class: "group-by" }, h("legend", {}, "Group by"),
          signal.group_by.map((label) => h("label", { class: "check" },
            h("input", { type: "checkbox", name: "group_by", value: label, checked: (rule.group_by || []).includes(label) }), label)))
      : h("p", { class: "hint" }, "This signal answers one value (no grouping)."),
  ];
}

// Open the editor in `slot` for `rule` (null: a new one). `keys`: a stored rule, whose duration fields' names
// (`window_s` or `window`, `for_s` or `for`) a new rule uses too.
export function open(slot, { rule, signals, keys: model, onSaved, onClose }) {
  const editing = Boolean(rule);
  const base = rule ? { ...rule } : { enabled: true, severity: "warning", op: ">", threshold: 0 };
  const sample = rule || model || {};
  const keys = { window: "window_s" in sample ? "window_s" : "window", for: "for_s" in sample ? "for_s" : "for" };
  const byName = new Map(signals.map((s) => [s.name, s]));
  const signal = base.signal && byName.has(base.signal) ? base.signal : signals[0]?.name || "";
  const about = h("div", { class: "signal-parts" });
  const line = h("p", { class: "access-note", "data-note": "rule-editor", role: "status", "aria-live": "polite" });
  const result = h("figure", { class: "panel chart wide dry-run-panel", "data-panel": "dry-run", hidden: true },
    h("figcaption", {}, `Dry run: the last ${DAYS} days`), h("div", { class: "panel-body" }));
  const button = (action, label, type = "button") => h("button", { type, "data-action": action }, label);
  const form = h(
    "form",
    { class: "panel access-form rule-editor", "data-form": "rule-editor", autocomplete: "off", novalidate: true },
    h("h2", {}, editing ? `Edit rule ${base.name || base.id}` : "New rule"),
    h("div", { class: "fields" },
      editing ? "" : input("Id (a slug; empty: from the name)", "id", { pattern: "[a-z0-9_-]{1,64}" }),
      input("Name", "name", { value: base.name || "", required: true }),
      h("label", {}, "Signal", select("signal", signals.map((s) => [s.name, s.name]), signal)),
      h("label", {}, "Condition", select("op", OPS.map((o) => [o, o]), base.op || ">")),
      input("Threshold", "threshold", { value: base.threshold ?? "", inputmode: "decimal" }),
      input("Window (seconds, or 15m, 1h, 1d)", "window", { value: base[keys.window] ?? "" }),
      input("For (how long before it fires)", "for", { value: base[keys.for] ?? "" }),
      h("label", {}, "Severity", select("severity", SEVERITIES.map((s) => [s, s]), base.severity || "warning")),
      input("Channels (comma-separated; empty: all)", "channels", { value: (base.channels || []).join(", ") }),
      h("label", { class: "check" }, h("input", { type: "checkbox", name: "enabled", checked: base.enabled !== false }), "Enabled"),
      h("label", { class: "wide" }, "Summary ({value}, {threshold}, {rule} and label names)", h("input", { name: "summary", value: base.summary || "" })),
      h("label", { class: "span2" }, "Filters (one per line: team=payments,platform)", h("textarea", { name: "filters", rows: "2" }, pairsText(base.filters))),
      h("label", { class: "span2" }, "Extra labels (one per line: route=finance)", h("textarea", { name: "labels", rows: "2" }, pairsText(base.labels))),
    ),
    about,
    h("div", { class: "form-actions" }, button("validate", "Validate"), button("dry-run", "Dry run"), button("save", editing ? "Save" : "Create rule", "submit"), button("cancel", "Cancel")),
    line,
  );
  const showSignal = () => clear(about).append(...signalParts(byName.get(form.elements.signal.value), base));
  showSignal();
  form.elements.signal.addEventListener("change", showSignal);

  // Run `action(rule)`; say what it answered, or why the rule is not valid (the server's message names the field).
  const busy = async (action) => {
    const buttons = [...form.querySelectorAll("button")];
    for (const b of buttons) b.disabled = true;
    try {
      const rule = collect(form, base, keys, byName.get(form.elements.signal.value));
      await action(rule);
    } catch (error) {
      const text = error instanceof ApiError && (error.status === 422 || error.status === 400) ? `Not valid: ${error.message}` : describe(error);
      say(line, text, true);
      form.dataset.valid = "false";
    } finally {
      for (const b of buttons) b.disabled = false;
    }
  };
  form.querySelector('[data-action="validate"]').addEventListener("click", () =>
    busy(async (rule) => {
      await send("POST", "alerts/rules/validate", rule);
      form.dataset.valid = "true";
      say(line, "The rule is valid.");
    }),
  );
  form.querySelector('[data-action="dry-run"]').addEventListener("click", () =>
    busy(async (rule) => {
      say(line, `Running the rule over the last ${DAYS} days…`);
      const answer = await send("POST", "alerts/rules/dry-run", { rule, days: DAYS, step_s: STEP_S });
      result.hidden = false;
      drawDryRun(result, result.querySelector(".panel-body"), answer, DAYS);
      say(line, "Dry run done: nothing was saved or sent.");
    }),
  );
  form.querySelector('[data-action="cancel"]').addEventListener("click", () => onClose());
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(async (rule) => {
      const saved = editing
        ? await send("PUT", "alerts/rules/" + encodeURIComponent(base.id), rule)
        : await send("POST", "alerts/rules", rule);
      onSaved(saved || rule);
    });
  });
  clear(slot).append(form, result);
  form.scrollIntoView({ block: "start" });
  form.elements.name.focus();
}
