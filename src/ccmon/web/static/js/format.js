// Numbers and times as people read them. Raw values stay in data-value attributes for tests and copy-paste.

const compact = new Intl.NumberFormat("en", { notation: "compact", maximumFractionDigits: 1 });
const whole = new Intl.NumberFormat("en", { maximumFractionDigits: 0 });

export function usd(value) {
  if (value === null || value === undefined) return "—";
  const abs = Math.abs(value);
  if (abs >= 100000) return "$" + compact.format(value);
  if (abs >= 100) return "$" + whole.format(value);
  if (abs >= 1) return "$" + value.toFixed(2);
  if (abs === 0) return "$0";
  return "$" + value.toPrecision(2);
}

export function count(value) {
  if (value === null || value === undefined) return "—";
  return Math.abs(value) >= 100000 ? compact.format(value) : whole.format(value);
}

// Every digit, with separators: 140,000 (not 140K), for progress counts.
export function exact(value) {
  if (value === null || value === undefined) return "—";
  return whole.format(value);
}

export function number(value, digits = 2) {
  if (value === null || value === undefined) return "—";
  return Math.abs(value) >= 100000 ? compact.format(value) : value.toFixed(digits).replace(/\.?0+$/, "");
}

export function percent(ratio) {
  if (ratio === null || ratio === undefined) return "—";
  return (ratio * 100).toFixed(1) + "%";
}

function signedPercent(pct) {
  if (pct === null || pct === undefined) return "—";
  return (pct > 0 ? "+" : "") + pct.toFixed(1) + "%";
}

// The overview's cost change against the period of the same length before.
export function costChange(pct) {
  return pct === null || pct === undefined ? "no spend in the period before" : `${signedPercent(pct)} vs the period before`;
}

export function ms(value) {
  if (value === null || value === undefined) return "—";
  if (value >= 10000) return (value / 1000).toFixed(1) + " s";
  if (value >= 1000) return (value / 1000).toFixed(2) + " s";
  return whole.format(value) + " ms";
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 60) return seconds.toFixed(0) + " s";
  if (seconds < 3600) return (seconds / 60).toFixed(0) + " min";
  return (seconds / 3600).toFixed(1) + " h";
}

// Times are shown in UTC, as the API speaks it: "2026-11-24 23:47".
export function time(iso) {
  if (!iso) return "—";
  return iso.slice(0, 16).replace("T", " ");
}

export function seconds(iso) {
  return iso ? iso.slice(0, 19).replace("T", " ") : "—";
}


// A count with its noun, singular for exactly one: plural(1, "request") is "1 request", plural(3, "person",
// "people") is "3 people". The count is formatted as `count` formats it.
export function plural(n, one, many = one + "s") {
  return `${count(n)} ${n === 1 ? one : many}`;
}

// Every ratio, rate and mean the pages show, named by its exact formula (as docs/api.md defines it): shown as the
// `title` of its tile or column, so a figure says what it divides by what.
export const FORMULAS = {
  cost_per_user: "Cost per user = (spend − cost not attributed to a person) ÷ active users",
  cost_per_session: "Cost per session = spend ÷ sessions",
  cost_per_pull_request: "Cost per PR = spend ÷ pull requests",
  cost_per_commit: "Cost per commit = spend ÷ commits",
  cost_change: "Change = (spend − spend of the period of equal length before) ÷ spend of the period before",
  accept_rate: "Edit accept rate = accepted ÷ (accepted + rejected) code-edit decisions (Edit, Write, NotebookEdit)",
  lines_per_active_hour: "Lines added ÷ hours of active time (user + CLI)",
  token_efficiency: "Output per input token = output tokens ÷ input tokens (input counts no cache reads or writes)",
  cache_efficiency:
    "Cache efficiency = cache reads ÷ (input + cache creation + cache reads): the share of all prompt tokens served from the cache",
  cost_per_million_tokens:
    "Cost per million tokens = spend ÷ (input + output + cache read + cache creation tokens) × 1,000,000: every token type, cache reads included",
  projected: "Projected month end = spent this month + average daily spend of the last 7 days × days left in the month (UTC)",
  share: "Share = this row's cost ÷ the total cost of the window",
  request_share: "Share = this model's API requests ÷ all API requests",
  success_rate: "Success = successful tool results ÷ tool results (calls)",
  failure_rate: "Failure rate = 1 − successful tool results ÷ tool results (calls)",
  duration_mean: "Mean = sum of tool durations ÷ tool results",
  error_rate: "API error rate = API errors ÷ (API requests + API errors)",
  sessions_per_user: "Sessions per person = sessions that day ÷ people active that day",
  headcount_share:
    "Active of headcount = people in the directory (within your role's scope) with any event or data point in the window ÷ people in the directory",
  percentile:
    "Percentile: interpolated between the closest ranks (PERCENTILE.INC); exact up to 100,000 values, beyond that within 1 % (log-spaced buckets)",
};
