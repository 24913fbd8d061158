// The instances of the rules that are not quiet: firing, pending, silenced (a badge on a firing one), no data and
// error, with their rule, severity, labels, value and since when; counted in tiles above. An admin silences one with
// "Silence…", which fills the silence form with the instance's labels.

import { describe } from "../../api.js";
import { h } from "../../dom.js";
import { grid, when } from "../access/common.js";
import { badge, labelChips, labelsText, valueText } from "./common.js";

// Firing first, then pending, no data and error; the most severe first within a state.
const STATE_ORDER = { firing: 0, pending: 1, error: 2, nodata: 3, resolved: 4 };
const SEVERITY_ORDER = { critical: 0, error: 1, warning: 2, info: 3 };

export function shown(instances) {
  return instances
    .filter((i) => i.state && i.state !== "normal" && i.state !== "resolved")
    .sort(
      (a, b) =>
        (STATE_ORDER[a.state] ?? 9) - (STATE_ORDER[b.state] ?? 9) ||
        (SEVERITY_ORDER[a.severity] ?? 9) - (SEVERITY_ORDER[b.severity] ?? 9) ||
        String(a.active_since || "").localeCompare(String(b.active_since || "")),
    );
}

function since(instance) {
  return instance.active_since || instance.fired_at || instance.last_eval || null;
}

// Tiles, then the table; answers a function that asks again and redraws both. `alerts`: a promise of GET /alerts;
// `onSilence(instance)` (admins) opens the silence form.
export function render(ctx, layout, alerts, { admin, onSilence }) {
  const tiles = ctx.stats(layout, [
    { name: "firing", label: "Firing" },
    { name: "pending", label: "Pending" },
    { name: "silenced", label: "Silenced" },
    { name: "nodata", label: "No data or error" },
  ]);
  const panel = ctx.panel(layout, "instances", "Alerts now", { chart: false, wide: true });
  const count = (answer) => {
    const all = answer.instances || [];
    const n = (test) => all.filter(test).length;
    const firing = n((i) => i.state === "firing" && !i.silenced);
    const pending = n((i) => i.state === "pending");
    tiles.set("firing", firing, String(firing), "not silenced");
    tiles.set("pending", pending, String(pending), "condition holds, not yet for long enough");
    tiles.set("silenced", n((i) => i.silenced), String(n((i) => i.silenced)));
    const broken = n((i) => i.state === "nodata" || i.state === "error");
    tiles.set("nodata", broken, String(broken));
  };
  tiles.fill(alerts, count);
  const columns = [
    { key: "state", label: "State", show: (i) => h("span", { class: "badges" }, badge("state", i.state), i.silenced ? badge("state", "silenced") : null) },
    { key: "severity", label: "Severity", show: (i) => badge("severity", i.severity || "warning") },
    { key: "rule_name", label: "Rule", show: (i) => i.rule_name || i.rule_id },
    { key: "labels", label: "Labels", show: (i) => labelChips(i.labels) },
    { key: "value", label: "Value", num: true, show: (i) => valueText(i.value) },
    { key: "summary", label: "Summary", show: (i) => i.summary || "—" },
    { key: "since", label: "Since", show: (i) => when(since(i)) },
  ];
  if (admin)
    columns.push({
      key: "actions",
      label: "",
      show: (i) =>
        h("button", { type: "button", "data-action": "silence", title: `Silence ${labelsText(i.labels)}`, onclick: () => onSilence(i) }, "Silence…"),
    });
  const draw = (answer) => {
    const rows = shown(answer.instances || []);
    panel.body.replaceChildren(
      grid("alert-instances", columns, rows, { rowKey: (i) => i.fingerprint, empty: "Nothing is firing, pending or failing." }),
    );
  };
  ctx.fill(panel, alerts, draw);
  // Asked again after a change (a silence): the tiles and the table.
  return async () => {
    try {
      const answer = await ctx.get("alerts");
      count(answer);
      draw(answer);
    } catch (error) {
      if (error.name !== "AbortError") panel.body.replaceChildren(h("p", { class: "error", role: "alert" }, describe(error)));
    }
  };
}
