// Axis ticks. Values: round steps from 0. Time: positions and labels chosen from the range, never the same label
// twice: hours (HH:MM, the date at midnight) within a day, dates at day boundaries over days of sub-day buckets,
// days or week starts (MM-DD; with the year over a year or more) for daily and weekly buckets.

import { MONDAY_OFFSET_MS } from "./time.js";

const MINUTE = 60000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
const YEAR = 365 * DAY;

function niceStep(max, ticks) {
  const raw = max / ticks;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const residual = raw / magnitude;
  const nice = residual > 5 ? 10 : residual > 2 ? 5 : residual > 1 ? 2 : 1;
  return nice * magnitude;
}

export function yTicks(max, count = 4) {
  if (!(max > 0)) return { top: 1, ticks: [0, 1] };
  const step = niceStep(max, count);
  const top = Math.ceil(max / step) * step;
  const ticks = [];
  for (let v = 0; v <= top + step / 2; v += step) ticks.push(v);
  return { top, ticks };
}

const iso = (t) => new Date(t).toISOString();
const hourLabel = (t) => (t % DAY === 0 ? iso(t).slice(5, 10) : iso(t).slice(11, 16));

// Instants in [lo, hi) that are `origin` plus a multiple of `interval`.
function aligned(lo, hi, interval, origin = 0) {
  const out = [];
  for (let t = Math.ceil((lo - origin) / interval) * interval + origin; t < hi; t += interval) out.push(t);
  return out;
}

function distinct(ticks) {
  return new Set(ticks.map((t) => t.label)).size === ticks.length;
}

// The first (finest) candidate that fits and repeats no label; else the coarsest, thinned and without repeats.
function firstFitting(candidates, maxTicks) {
  for (const ticks of candidates) if (ticks.length <= maxTicks && distinct(ticks)) return ticks;
  const coarsest = candidates[candidates.length - 1] || [];
  const seen = new Set();
  const unique = coarsest.filter((t) => !seen.has(t.label) && seen.add(t.label));
  const every = Math.ceil(unique.length / Math.max(1, maxTicks));
  return unique.filter((_, i) => i % every === 0);
}

// Ticks of a time axis over buckets starting at `times` (each `step` ms long), for a plot `plotWidth` px wide:
// [{t, label, center}] where `center` puts the label in the middle of the bucket starting at t (a day's column)
// rather than at the instant t.
export function timeTicks(times, step, plotWidth) {
  if (times.length === 0) return [];
  const first = times[0];
  const end = times[times.length - 1] + step;
  const span = end - first;
  const long = span >= YEAR;
  const date = (t) => (long ? iso(t).slice(0, 10) : iso(t).slice(5, 10));
  const maxTicks = Math.max(2, Math.floor(plotWidth / (long ? 92 : 64)));
  let candidates;
  if (step < DAY && span <= DAY + step) {
    // Within a day: hours, at the first interval that fits. A 24-hour window covers 25 hourly buckets (both ends
    // partial), so the ticks are taken from its last 24 hours: the first hour's label would come again at the end.
    const intervals = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720].map((m) => m * MINUTE).filter((i) => i >= step);
    const from = Math.max(first, end - DAY);
    candidates = intervals.map((interval) => aligned(from, end, interval).map((t) => ({ t, label: hourLabel(t), center: false })));
  } else if (step < DAY) {
    // Days of sub-day buckets: the dates, at the day boundaries.
    candidates = [DAY, 2 * DAY, WEEK, 2 * WEEK].map((interval) =>
      aligned(first, end, interval, interval >= WEEK ? MONDAY_OFFSET_MS : 0).map((t) => ({ t, label: date(t), center: false })),
    );
  } else {
    // Daily or weekly buckets: the dates of bucket starts (week starts: Mondays), every so many buckets.
    const multiples = step >= WEEK ? [1, 2, 4, 8, 13, 26, 52] : [1, 2, 7, 14, 28, 56, 91, 182];
    candidates = multiples.map((k) => {
      const origin = step < WEEK && k % 7 === 0 ? MONDAY_OFFSET_MS : first;
      return aligned(first, end, k * step, origin).map((t) => ({ t, label: date(t), center: true }));
    });
  }
  return firstFitting(candidates, maxTicks);
}
