// What happened: the history of state changes (newest first, a page at a time with "Older") and the notifications
// sent for them, one row per channel with its delivery state, attempts and the last error.

import { h } from "../../dom.js";
import { grid, items, listPanel, when } from "../access/common.js";
import { badge, labelChips, valueText } from "./common.js";

const PAGE = 50;

// `ruleNames`: a promise of {rule id: name}, to name the rules of the history.
export function render(ctx, layout, ruleNames) {
  const cursors = [null]; // cursors[i]: the `before` of page i (null: the newest)
  const fetchPage = async () => {
    const params = new URLSearchParams({ limit: String(PAGE) });
    const before = cursors[cursors.length - 1];
    if (before) params.set("before", before);
    const [answer, names] = await Promise.all([ctx.get("alerts/history", params), ruleNames]);
    return { answer, names };
  };
  const reload = listPanel(ctx, layout, "alert-history", "History", fetchPage, (body, { answer, names }) => {
    const columns = [
      { key: "ts", label: "When", show: (e) => when(e.ts) },
      { key: "rule_id", label: "Rule", show: (e) => names[e.rule_id] || e.rule_id },
      { key: "labels", label: "Labels", show: (e) => labelChips(e.labels) },
      {
        key: "to_state",
        label: "Change",
        show: (e) => h("span", { class: "badges" }, badge("state", e.from_state || "normal"), " → ", badge("state", e.to_state)),
      },
      { key: "severity", label: "Severity", show: (e) => (e.severity ? badge("severity", e.severity) : "—") },
      { key: "value", label: "Value", num: true, show: (e) => valueText(e.value) },
      { key: "summary", label: "Summary", show: (e) => e.summary || "—" },
    ];
    const next = answer.next ?? answer.next_cursor ?? null;
    const pager = h("div", { class: "pager" }, `Page ${cursors.length}`);
    if (cursors.length > 1)
      pager.append(
        h("button", { type: "button", "data-action": "newest", onclick: () => { cursors.splice(1); reload(); } }, "Newest"),
        h("button", { type: "button", "data-action": "newer", onclick: () => { cursors.pop(); reload(); } }, "Newer"),
      );
    if (next) pager.append(h("button", { type: "button", "data-action": "older", onclick: () => { cursors.push(next); reload(); } }, "Older"));
    body.append(grid("alert-history", columns, items(answer, "entries"), { empty: "No state changes yet." }), pager);
  });

  const deliveryColumns = [
    { key: "created_at", label: "When", show: (d) => when(d.created_at) },
    { key: "channel", label: "Channel", show: (d) => (d.kind ? `${d.channel} (${d.kind})` : d.channel) },
    { key: "rule_id", label: "Rule" },
    { key: "status", label: "Alert", show: (d) => (d.status ? badge("state", d.status) : "—") },
    { key: "state", label: "Delivery", show: (d) => badge("delivery", d.state) },
    { key: "attempts", label: "Attempts", num: true },
    { key: "last_status", label: "Last answer", num: true },
    { key: "last_error", label: "Last error" },
    { key: "next_attempt_at", label: "Next attempt", show: (d) => (d.state === "retrying" ? when(d.next_attempt_at) : "—") },
    { key: "updated_at", label: "Updated", show: (d) => when(d.updated_at) },
  ];
  listPanel(ctx, layout, "alert-deliveries", "Notifications sent", () => ctx.get("alerts/deliveries", new URLSearchParams({ limit: "100" })), (body, answer) => {
    body.append(grid("alert-deliveries", deliveryColumns, items(answer, "deliveries"), { rowKey: (d) => d.id, empty: "No notifications sent yet." }));
  });
}
