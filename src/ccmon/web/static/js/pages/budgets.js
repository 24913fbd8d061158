// The Budgets page: each budget's progress in its period (per subject: the team, or each person of a per-person
// budget) with its thresholds and where the trailing run rate projects it by the period's end, who is over, and
// (admins) the budgets and model policies themselves; the model-policy violations of the last 30 days.

import { h } from "../dom.js";
import { count, usd } from "../format.js";
import { grid, items, listPanel, when } from "./access/common.js";
import { BUDGET, POLICY } from "./alerts/budgetdefs.js";
import { isAdmin } from "./alerts/common.js";
import { definitionEditor } from "./alerts/definitions.js";

export const name = "budgets";
export const title = "Budgets";
export const autoRefresh = false; // forms being filled must not be redrawn under the reader
export const controls = false; // budgets have their own periods

const MAX_SCALE = 3; // a bar's scale reaches at most 300 % of the amount (beyond that it is full)
const VIOLATION_DAYS = 30;

const amountText = (unit, value) => (unit === "tokens" ? `${count(value)} tokens` : usd(value));
const pct = (fraction) => (fraction === null || fraction === undefined ? "—" : `${(fraction * 100).toFixed(1)} %`);

function place(el, fraction, scale) {
  el.style.left = `${(Math.min(fraction, scale) / scale) * 100}%`;
  return el;
}

// One subject's bar: used so far, a mark at each threshold, and the projection at the period's end.
function bar(status, thresholds) {
  const fraction = status.fraction ?? (status.amount ? status.used / status.amount : 0);
  const projected = status.projected_fraction ?? null;
  const scale = Math.min(MAX_SCALE, Math.max(1, fraction, projected ?? 0));
  const fill = h("span", { class: "budget-fill" + (status.over ? " over" : "") });
  fill.style.width = `${(Math.min(fraction, scale) / scale) * 100}%`;
  const track = h("span", { class: "budget-track", role: "img", "aria-label": `${pct(fraction)} used` }, fill);
  for (const t of thresholds)
    track.append(place(h("span", { class: "budget-mark" + (fraction >= t ? " crossed" : ""), "data-threshold": String(t), title: `${pct(t)} threshold` }), t, scale));
  if (projected !== null)
    track.append(place(h("span", { class: "budget-projected", "data-projected": String(projected), title: `Projected at the period's end: ${amountText(status.unit, status.projected)} (${pct(projected)})` }), projected, scale));
  return track;
}

function row(status, thresholds) {
  const projected = status.projected === null || status.projected === undefined ? "" : ` · projected ${amountText(status.unit, status.projected)} (${pct(status.projected_fraction)})`;
  return h(
    "li",
    { class: "budget-row" + (status.over ? " over" : ""), "data-budget": status.budget_id, "data-subject": status.subject || "", "data-over": String(Boolean(status.over)), "data-fraction": String(status.fraction ?? "") },
    h("span", { class: "budget-subject", title: status.subject || "" }, status.subject || status.scope_value || "organization"),
    bar(status, thresholds),
    h("span", { class: "budget-figures" },
      `${amountText(status.unit, status.used)} of ${amountText(status.unit, status.amount)} · ${pct(status.fraction)}`,
      status.over ? h("strong", { class: "over-flag" }, " over") : "",
      h("span", { class: "note" }, projected)),
  );
}

// The statuses grouped by budget, in the order the server answered them.
function groups(statuses) {
  const byBudget = new Map();
  for (const s of statuses) {
    if (!byBudget.has(s.budget_id)) byBudget.set(s.budget_id, []);
    byBudget.get(s.budget_id).push(s);
  }
  return [...byBudget.values()];
}

function drawStatus(body, answer, definitions) {
  const thresholdsOf = new Map(items(definitions, "budgets").map((b) => [b.id, b.thresholds || []]));
  const statuses = items(answer, "statuses");
  if (!statuses.length) return body.append(h("p", { class: "empty" }, "No budgets yet."));
  body.append(h("p", { class: "hint" }, `As of ${when(answer.as_of)}. Marks: thresholds; the hollow mark: projected at the period's end.`));
  for (const group of groups(statuses)) {
    const first = group[0];
    const thresholds = first.thresholds || thresholdsOf.get(first.budget_id) || [0.75, 0.9, 1];
    const scope = first.scope === "organization" ? "organization" : `${String(first.scope).replace("_", " ")} ${first.scope_value}`;
    body.append(
      h("section", { class: "budget-group", "data-budget-group": first.budget_id },
        h("h3", {}, first.name || first.budget_id,
          h("span", { class: "note" }, `${scope} · ${first.period} · ${when(first.period_start)} to ${when(first.period_end)} (resets then)${first.enforce && first.enforce !== "off" ? ` · ${first.enforce}` : ""}`)),
        h("ul", { class: "budget-rows" }, group.map((s) => row(s, thresholds)))),
    );
  }
}

export async function render(ctx) {
  ctx.heading("Budgets", "Spending limits per organisation, team, department, cost center or person, with the projection to the period's end.");
  const admin = await isAdmin();
  const layout = ctx.section();
  const statusAnswer = ctx.get("budgets/status");
  const definitions = ctx.get("budgets").catch(() => ({ budgets: [] }));
  statusAnswer.catch(() => {});
  const progress = ctx.panel(layout, "budget-status", "Progress", { chart: false, wide: true });
  ctx.fill(progress, Promise.all([statusAnswer, definitions]), ([answer, defs]) => {
    progress.body.replaceChildren();
    drawStatus(progress.body, answer, defs);
  });
  const over = ctx.panel(layout, "over-budget", "Over budget", { chart: false, wide: true });
  ctx.fill(over, statusAnswer, (answer) => {
    const rows = items(answer, "statuses").filter((s) => s.over);
    over.body.replaceChildren(
      grid("over-budget", [
        { key: "subject", label: "Who", show: (s) => s.subject || s.scope_value || "organization" },
        { key: "name", label: "Budget" },
        { key: "used", label: "Used", num: true, show: (s) => amountText(s.unit, s.used) },
        { key: "amount", label: "Amount", num: true, show: (s) => amountText(s.unit, s.amount) },
        { key: "fraction", label: "Share", num: true, show: (s) => pct(s.fraction) },
        { key: "enforce", label: "Enforce" },
        { key: "period_end", label: "Resets", show: (s) => when(s.period_end) },
      ], rows, { rowKey: (s) => `${s.budget_id}/${s.subject || ""}`, empty: "Nobody is over a budget." }),
    );
  });
  const redraw = () => window.dispatchEvent(new Event("ccmon:navigate"));
  layout.append(h("h2", { class: "wide section-title" }, "Budgets"));
  definitionEditor(ctx, layout, BUDGET, { admin, onChange: redraw });
  layout.append(h("h2", { class: "wide section-title" }, "Model policies"));
  definitionEditor(ctx, layout, POLICY, { admin });
  const to = new Date();
  const from = new Date(to.getTime() - VIOLATION_DAYS * 86400000);
  const span = new URLSearchParams({ from: from.toISOString().replace(/\.\d+Z$/, "Z"), to: to.toISOString().replace(/\.\d+Z$/, "Z") });
  listPanel(ctx, layout, "policy-violations", `Model policy violations, last ${VIOLATION_DAYS} days`, () => ctx.get("policies/violations", span), (body, answer) => {
    body.append(grid("policy-violations", [
      { key: "person", label: "Person" },
      { key: "model", label: "Model" },
      { key: "session_id", label: "Session" },
      { key: "requests", label: "Requests", num: true },
      { key: "first_seen", label: "First", show: (v) => when(v.first_seen) },
      { key: "last_seen", label: "Last", show: (v) => when(v.last_seen) },
      { key: "policy_id", label: "Policy", show: (v) => v.policy_id || v.policy || "—" },
    ], items(answer, "violations"), { empty: "No violations." }));
  });
}
