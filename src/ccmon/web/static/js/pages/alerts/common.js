// What the Alerts and Budgets pages share: state and severity badges, label sets as text, durations, and whether the
// reader may change anything (admins only: the server answers every write of anyone else with 403, so the controls
// are not shown to them). Labels come from telemetry (a team or a person may be named anything): always text.

import { me } from "../../api.js";
import { h } from "../../dom.js";

export const SEVERITIES = ["critical", "error", "warning", "info"];
export const STATES = ["firing", "pending", "nodata", "error", "resolved", "normal"];
export const OPS = [">", ">=", "<", "<="];

// Whether the signed-in reader is an admin (a server without /api/v1/me: not known, so no edit controls).
export async function isAdmin() {
  const who = await me();
  return Boolean(who && who.role === "admin");
}

// A small coloured word: a state ("firing") or a severity ("critical"); `kind` picks the colours (app.css .badge).
export function badge(kind, text) {
  return h("span", { class: `badge ${kind}-${String(text).replace(/[^a-z_-]/gi, "")}`, "data-badge": text }, text);
}

// A label set as "team=payments, person=ann@example.com" (sorted by name), or "—" for none.
export function labelsText(labels) {
  const entries = Object.entries(labels || {}).sort(([a], [b]) => a.localeCompare(b));
  return entries.length ? entries.map(([k, v]) => `${k}=${v}`).join(", ") : "—";
}

// The same label set as chips, one per label.
export function labelChips(labels) {
  const entries = Object.entries(labels || {}).sort(([a], [b]) => a.localeCompare(b));
  if (!entries.length) return "—";
  return h("span", { class: "label-chips" }, entries.map(([k, v]) => h("span", { class: "chip", title: `${k}=${v}` }, `${k}=${v}`)));
}

// Seconds (or an API duration such as "1h") as people read it: "90 s", "15 min", "4 h", "7 d".
export function durationText(value) {
  if (value === null || value === undefined || value === "") return "—";
  const s = Number(value);
  if (!Number.isFinite(s)) return String(value);
  if (s === 0) return "0";
  if (s % 86400 === 0) return `${s / 86400} d`;
  if (s % 3600 === 0) return `${s / 3600} h`;
  if (s % 60 === 0) return `${s / 60} min`;
  return `${s} s`;
}

// A value as the rules compare it: up to 4 significant digits, no exponent for ordinary numbers.
export function valueText(value) {
  if (value === null || value === undefined || value === "") return "—";
  const n = Number(value);
  if (!Number.isFinite(n)) return String(value);
  if (Number.isInteger(n)) return n.toLocaleString("en");
  return Math.abs(n) >= 1000 ? n.toLocaleString("en", { maximumFractionDigits: 1 }) : String(Number(n.toPrecision(4)));
}

// "key=value" lines (or commas) as an object; `many` splits each value on "|" or "," into a list (filters).
export function parsePairs(text, { many = false } = {}) {
  const out = {};
  for (const part of String(text || "").split(/\n/)) {
    const line = part.trim();
    if (!line) continue;
    const at = line.indexOf("=");
    if (at <= 0) throw new Error(`"${line}": expected name=value`);
    const key = line.slice(0, at).trim();
    const value = line.slice(at + 1).trim();
    out[key] = many ? value.split(/[|,]/).map((v) => v.trim()).filter(Boolean) : value;
  }
  return out;
}

// The reverse of `parsePairs`: one "key=value" line per entry (lists joined with ",").
export function pairsText(object) {
  return Object.entries(object || {})
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(",") : v}`)
    .join("\n");
}

// A comma-separated list as an array of its non-empty items.
export function list(text) {
  return String(text || "").split(",").map((v) => v.trim()).filter(Boolean);
}
