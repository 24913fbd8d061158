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

