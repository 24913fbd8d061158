// Time buckets: the API's rows on one value per bucket over the whole window, and which buckets have not ended yet
// (the day so far), so a chart draws them as partial rather than as a drop.

const BUCKET_SECONDS = { "1m": 60, "5m": 300, "15m": 900, "1h": 3600, "6h": 21600, "1d": 86400, "1w": 604800 };
const BUCKET_NAMES = { "1m": "minute", "5m": "5 minutes", "15m": "15 minutes", "1h": "hour", "6h": "6 hours", "1d": "day", "1w": "week" };
export const MONDAY_OFFSET_MS = 4 * 86400000; // 1970-01-01 was a Thursday; ClickHouse's weeks start on Monday

function hhmm(t) {
  return new Date(t).toISOString().slice(11, 16);
}

// The buckets from the first one that ends after the window's end or after now: {index, title}, or null when every
// bucket is complete. `now` is a parameter for tests.
export function partialBuckets(times, step, bucket, to, now = Date.now()) {
  const cutoff = Math.min(to, now);
  const index = times.findIndex((t) => t + step > cutoff);
  if (index < 0) return null;
  const unit = BUCKET_NAMES[bucket] || "bucket";
  const end = times[index] + step;
  const title = now < end ? `partial ${unit}: so far` : `partial ${unit}: until ${hhmm(to)}`;
  return { index, title };
}

// Rows of {t, series, value} (the API's time series) to one value per bucket and series over the whole window.
// `fill` puts 0 in buckets with no row (cost, counts); without it a missing bucket is a gap (percentiles).
export function pivot(rows, { from, to, bucket, fill = true, order = null }) {
  const step = (BUCKET_SECONDS[bucket] || 3600) * 1000;
  const offset = bucket === "1w" ? MONDAY_OFFSET_MS : 0;
  const start = Math.floor((Date.parse(from) - offset) / step) * step + offset;
  const end = Date.parse(to);
  const times = [];
  for (let t = start; t < end && times.length < 5000; t += step) times.push(t);
  const index = new Map(times.map((t, i) => [t, i]));
  const byName = new Map();
  for (const row of rows) {
    const i = index.get(Date.parse(row.t));
    if (i === undefined) continue;
    if (!byName.has(row.series)) byName.set(row.series, new Array(times.length).fill(fill ? 0 : null));
    byName.get(row.series)[i] = row.value;
  }
  const names = order ? order.filter((n) => byName.has(n)) : [...byName.keys()].sort();
  const partial = partialBuckets(times, step, bucket, end);
  return { times, step, partial, series: names.map((name) => ({ name, values: byName.get(name) })) };
}
