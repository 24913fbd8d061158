// The view's state lives in the URL, so every view can be bookmarked and shared: the time range (a preset or
// from/to), the filters, and page options such as a table's sort.

// How the API labels a group whose value was not sent.
export const UNKNOWN = "(unknown)";

// The dimension filters of the controls bar (API parameters of the same names). `(unknown)` selects the rows that
// carry no value.
export const FILTERS = ["team", "person", "model", "project", "provider", "department", "cost_center", "organization"];
const PRESETS = { "1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400, "90d": 90 * 86400 };
const DEFAULT_RANGE = "30d";

export function current() {
  return new URLSearchParams(location.search);
}

// Change the URL's query (null removes a key) and tell the app to render; `replace` keeps history clean for
// changes that are not navigation (a sort, a page of a table).
export function update(changes, { replace = false } = {}) {
  const params = current();
  for (const [key, value] of Object.entries(changes)) {
    params.delete(key);
    if (value === null || value === undefined || value === "") continue;
    for (const item of [].concat(value)) params.append(key, item);
  }
  const query = params.toString();
  const url = location.pathname + (query ? "?" + query : "");
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  window.dispatchEvent(new Event("ccmon:navigate"));
}

// Keep the current query (range and filters) on a link to another page; `extra` sets (or, with null, removes) keys.
export function href(path, extra = {}) {
  const params = new URLSearchParams();
  const now = current();
  for (const key of ["range", "from", "to", ...FILTERS]) for (const v of now.getAll(key)) params.append(key, v);
  for (const [key, value] of Object.entries(extra)) {
    if (value === null || value === undefined) params.delete(key);
    else params.set(key, value);
  }
  const query = params.toString();
  return path + (query ? "?" + query : "");
}

function iso(date) {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

const PRESET_NAMES = {
  "1h": "the last hour",
  "24h": "the last 24 hours",
  "7d": "the last 7 days",
  "30d": "the last 30 days",
  "90d": "the last 90 days",
  mtd: "the month to date",
};
const EXAMPLE_TIME = "2026-11-29T00:00:00Z";

// An RFC 3339 instant in UTC as the API takes it (`Z` or `+00:00`), or null.
function instant(text) {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|\+00:00)$/i.test(text)) return null;
  const at = Date.parse(text.toUpperCase());
  return Number.isNaN(at) ? null : at;
}

// The window [from, to) the page shows. Presets end at the start of the next minute, so the requests of one render
// (and a reload within the minute) ask the same window. A custom window is `from` and `to` (either alone: to the
// next minute, or the default span before `to`). A `from` or `to` that is not an RFC 3339 time in UTC, or a window
// that ends before it starts, is not silently dropped: `problem` says what was wrong and which window is shown.
export function timeRange(params = current()) {
  const from = params.get("from");
  const to = params.get("to");
  const asked = params.get("range");
  const preset = Object.hasOwn(PRESETS, asked ?? "") || asked === "mtd" ? asked : DEFAULT_RANGE;
  if (from || to) {
    const start = from ? instant(from) : null;
    const stop = to ? instant(to) : null;
    const wrong = [];
    if (from && start === null) wrong.push(`from=${from}`);
    if (to && stop === null) wrong.push(`to=${to}`);
    let problem = null;
    if (wrong.length)
      problem = `${wrong.join(" and ")} ${wrong.length > 1 ? "are not times" : "is not a time"}: use RFC 3339 in UTC like ${EXAMPLE_TIME}`;
    else {
      const end = stop ?? nextMinute().getTime();
      const begin = start ?? end - PRESETS[DEFAULT_RANGE] * 1000;
      if (begin < end) return { preset: "custom", from: iso(new Date(begin)), to: iso(new Date(end)), problem: null };
      problem = `from (${from ?? iso(new Date(begin))}) is not before to (${to ?? iso(new Date(end))})`;
    }
    return { ...presetRange(preset), problem: `${problem}; showing ${PRESET_NAMES[preset]}.` };
  }
  return presetRange(preset);
}

function nextMinute() {
  const end = new Date();
  end.setUTCSeconds(0, 0);
  end.setUTCMinutes(end.getUTCMinutes() + 1);
  return end;
}

function presetRange(preset) {
  const end = nextMinute();
  let start;
  // The month of the window's last instant: in a month's last minute, `end` is already the 1st of the next.
  const last = new Date(end.getTime() - 1);
  if (preset === "mtd") start = new Date(Date.UTC(last.getUTCFullYear(), last.getUTCMonth(), 1));
  else start = new Date(end.getTime() - PRESETS[preset] * 1000);
  return { preset, from: iso(start), to: iso(end), problem: null };
}

// The instant "month to date" is asked as of: the window's last second (so a window ending on the 1st shows the month
// before), never later than now.
export function monthAsOf(range) {
  return iso(new Date(Math.min(Date.parse(range.to) - 1000, Date.now())));
}

// A bucket fine enough to show a shape, coarse enough to read from the daily or hourly rollups.
export function bucketFor(range) {
  const seconds = (Date.parse(range.to) - Date.parse(range.from)) / 1000;
  if (seconds <= 3 * 3600) return "1m";
  if (seconds <= 12 * 3600) return "5m";
  if (seconds <= 2 * 86400) return "1h";
  if (seconds <= 10 * 86400) return "6h";
  if (seconds <= 200 * 86400) return "1d";
  return "1w";
}

// The filters alone, for the requests that take no window (one session is shown whole).
export function filterParams(params = current()) {
  const out = new URLSearchParams();
  for (const key of FILTERS) for (const v of params.getAll(key)) out.append(key, v);
  return out;
}

// The parameters every analytics request takes: the window and the filters.
export function queryParams(params = current()) {
  const range = timeRange(params);
  const out = new URLSearchParams({ from: range.from, to: range.to });
  for (const [key, value] of filterParams(params)) out.append(key, value);
  return out;
}
