// The rules: each with its condition, window, `for`, severity and where it came from (shipped default, the alerts
// file, or the API), how many of its instances are in each state, and (admins) switched on or off, edited, deleted
// or made anew in the rule editor.

import { send } from "../../api.js";
import { clear, h } from "../../dom.js";
import { act, confirmButton, grid, items, listPanel, note } from "../access/common.js";
import { badge, durationText, valueText } from "./common.js";
import * as editor from "./editor.js";

const path = (id) => "alerts/rules/" + encodeURIComponent(id);

// A rule as the API takes it back: its stored definition without where it came from (the server sets that).
export function body(rule) {
  const out = { ...rule };
  delete out.source;
  delete out.state_counts;
  return out;
}

const windowOf = (r) => r.window_s ?? r.window;
const forOf = (r) => r.for_s ?? r.for;

function counts(states) {
  const entries = Object.entries(states || {}).filter(([state, n]) => n && state !== "normal");
  return entries.length ? h("span", { class: "badges" }, entries.map(([state, n]) => badge("state", `${n} ${state}`))) : "—";
}

// `alerts`: a promise of GET /alerts (its `rules` carry each rule's state counts).
export function render(ctx, layout, alerts, { admin }) {
  const line = note("rules");
  const slot = h("div", { class: "wide editor-slot" });
  let reload = () => {};
  let loaded = { rules: [], signals: [] };
  const edit = (rule) => {
    editor.open(slot, {
      rule,
      signals: loaded.signals,
      keys: loaded.rules[0] || {},
      admin,
      onSaved: (saved) => {
        clear(slot);
        line.textContent = `Saved the rule ${saved.name || saved.id}.`;
        reload();
      },
      onClose: () => clear(slot),
    });
  };
  const change = (rule, enabled) =>
    act(line, () => send("PUT", path(rule.id), { ...body(rule), enabled }), () => `${rule.name} is ${enabled ? "on" : "off"}.`).then(() => reload());
  const columns = [
    {
      key: "enabled",
      label: "On",
      show: (r) =>
        admin
          ? h("input", { type: "checkbox", checked: r.enabled !== false, "data-action": "toggle", "aria-label": `${r.name} on`, onchange: (e) => change(r, e.target.checked) })
          : r.enabled === false ? "off" : "on",
    },
    { key: "name", label: "Rule" },
    { key: "signal", label: "Signal" },
    { key: "condition", label: "Condition", show: (r) => `${r.op} ${valueText(r.threshold)}` },
    { key: "window", label: "Window", show: (r) => durationText(windowOf(r)) },
    { key: "for", label: "For", show: (r) => durationText(forOf(r)) },
    { key: "severity", label: "Severity", show: (r) => badge("severity", r.severity || "warning") },
    { key: "source", label: "From" },
    { key: "state_counts", label: "Now", show: (r) => counts(r.state_counts) },
  ];
  if (admin)
    columns.push({
      key: "actions",
      label: "",
      show: (r) =>
        h("span", { class: "row-actions" },
          h("button", { type: "button", "data-action": "edit", onclick: () => edit(r) }, "Edit"),
          confirmButton("Delete", "Really delete?", () =>
            act(line, () => send("DELETE", path(r.id)), () => `Deleted the rule ${r.name}.`).then(() => reload()),
            { "data-action": "delete" })),
    });
  const fetchRules = async () => {
    const [answer, now] = await Promise.all([ctx.get("alerts/rules"), alerts.catch(() => ({ rules: [] }))]);
    const states = new Map(items(now, "rules").map((r) => [r.id, r.state_counts]));
    return { rules: items(answer, "rules").map((r) => ({ ...r, state_counts: states.get(r.id) })), signals: answer.signals || [] };
  };
  if (admin) {
    const create = h("button", { type: "button", "data-action": "new-rule", onclick: () => edit(null) }, "New rule");
    layout.append(h("div", { class: "wide form-actions" }, create));
  }
  layout.append(slot);
  reload = listPanel(ctx, layout, "alert-rules", "Rules", fetchRules, (panelBody, answer) => {
    loaded = answer;
    panelBody.append(line, grid("alert-rules", columns, answer.rules, { rowKey: (r) => r.id, empty: "No rules." }));
  });
}
