// What a budget and a model policy are made of, for the shared editor (`definitions.js`): their form fields, the
// JSON sent for them, and the columns of their lists.

import { h } from "../../dom.js";
import { choice, input } from "../access/common.js";
import { list } from "./common.js";

export const SCOPES = ["organization", "team", "department", "cost_center", "person"];
const PERIODS = ["monthly", "weekly", "daily"];
const UNITS = ["usd", "tokens"];
const ENFORCE = ["off", "warn", "block"];

const percentList = (fractions) => (fractions || []).map((f) => String(Math.round(f * 1000) / 10)).join(", ");
const check = (label, name, checked) => h("label", { class: "check" }, h("input", { type: "checkbox", name, checked }), label);
const scopeText = (item) => (item.scope === "organization" ? "organization" : `${item.scope.replace("_", " ")}=${item.scope_value}`);

// The fields both share: an id (new ones only), a name and the scope.
function common(item) {
  return [
    item ? "" : input("Id (a slug; empty: from the name)", "id", { pattern: "[a-z0-9_-]{1,64}" }),
    input("Name", "name", { required: true, value: item?.name ?? "" }),
    choice("Scope", "scope", SCOPES, item?.scope ?? "team"),
    input("Scope value (empty for the organization)", "scope_value", { value: item?.scope_value ?? "" }),
  ];
}

const slug = (text) => String(text || "").toLowerCase().replace(/[^a-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 64);

function commonBody(v) {
  return { id: v.id || slug(v.name), name: v.name ?? "", scope: v.scope, scope_value: v.scope === "organization" ? "" : v.scope_value ?? "" };
}

export const BUDGET = {
  name: "budget",
  plural: "budgets",
  path: "budgets",
  title: "Budget",
  listTitle: "Budgets",
  fields: (b) => [
    ...common(b),
    choice("Period (UTC; weeks start Monday)", "period", PERIODS, b?.period ?? "monthly"),
    choice("Unit", "unit", UNITS, b?.unit ?? "usd"),
    input("Amount", "amount", { type: "number", min: "0", step: "any", required: true, value: b?.amount ?? "" }),
    input("Thresholds (% of the amount)", "thresholds", { value: percentList(b?.thresholds ?? [0.75, 0.9, 1]) }),
    choice("Enforce (the hook)", "enforce", ENFORCE, b?.enforce ?? "warn"),
    check("Per person (each person's limit, not the scope's total)", "per_person", Boolean(b?.per_person)),
  ],
  body: (v) => ({
    ...commonBody(v),
    period: v.period,
    unit: v.unit,
    amount: Number(v.amount),
    per_person: v.per_person === "on",
    thresholds: list(v.thresholds).map((p) => Number(p) / 100),
    enforce: v.enforce,
  }),
  columns: [
    { key: "name", label: "Budget" },
    { key: "scope", label: "Scope", show: scopeText },
    { key: "period", label: "Period" },
    { key: "amount", label: "Amount", num: true, show: (b) => (b.unit === "usd" ? `$${b.amount}` : `${b.amount} tokens`) },
    { key: "per_person", label: "Per person", show: (b) => (b.per_person ? "each person" : "pooled") },
    { key: "thresholds", label: "Thresholds", show: (b) => percentList(b.thresholds).split(", ").map((p) => p + " %").join(", ") },
    { key: "enforce", label: "Enforce" },
    { key: "source", label: "From" },
  ],
};

export const POLICY = {
  name: "policy",
  plural: "policies",
  path: "policies",
  title: "Model policy",
  listTitle: "Model policies",
  fields: (p) => [
    ...common(p),
    input("Allowed models (patterns, comma-separated; empty: all)", "allow", { value: (p?.allow ?? []).join(", "), placeholder: "claude-sonnet-*, claude-haiku-*" }),
    input("Denied models", "deny", { value: (p?.deny ?? []).join(", "), placeholder: "claude-opus-*" }),
    input("Denied tools", "deny_tools", { value: (p?.deny_tools ?? []).join(", "), placeholder: "WebFetch, mcp__*" }),
    choice("Enforce (the hook)", "enforce", ENFORCE, p?.enforce ?? "off"),
  ],
  body: (v) => ({ ...commonBody(v), allow: list(v.allow), deny: list(v.deny), deny_tools: list(v.deny_tools), enforce: v.enforce }),
  columns: [
    { key: "name", label: "Policy" },
    { key: "scope", label: "Scope", show: scopeText },
    { key: "allow", label: "Allowed", show: (p) => (p.allow || []).join(", ") || "all" },
    { key: "deny", label: "Denied", show: (p) => (p.deny || []).join(", ") || "—" },
    { key: "deny_tools", label: "Denied tools", show: (p) => (p.deny_tools || []).join(", ") || "—" },
    { key: "enforce", label: "Enforce" },
    { key: "source", label: "From" },
  ],
};
