// What every chart shares: its size, its colours, how it marks its figure (`data-points`, `data-partial`), the
// "nothing to draw" message and the key of its series.

import { clear, h, svg } from "../dom.js";

export const HEIGHT = 240;
export const MARGIN = { top: 12, right: 16, bottom: 28, left: 64 };
const PALETTE_SIZE = 8;
const DASHES = 4; // line styles (app.css: .dash0 solid, .dash1 dashed, .dash2 dotted, .dash3 dash-dot)

export function setPoints(figure, points) {
  figure.dataset.points = String(points);
  figure.dataset.drawnMs = String(Math.round(performance.now())); // since navigation: bench/ui.py reads it
  if (points === 0) figure.dataset.empty = "true";
  else delete figure.dataset.empty;
}

// `data-partial="true"` while the chart draws a bucket that has not ended (the day so far).
export function setPartial(figure, partial) {
  if (partial) figure.dataset.partial = "true";
  else delete figure.dataset.partial;
}

export function empty(figure, body, message = "No data in this range") {
  setPoints(figure, 0);
  setPartial(figure, false);
  clear(body).append(h("p", { class: "empty" }, message));
}

export function width(body) {
  return Math.max(320, Math.floor(body.clientWidth || body.parentElement?.clientWidth || 640));
}

export function seriesClass(index) {
  return "s" + (index % PALETTE_SIZE);
}

// A line's look in a chart of `count` lines: its own dash pattern, and the earlier (lower) a line is drawn the wider
// it is, so a line that another covers exactly still shows on both sides of it.
export function lineClasses(index, count) {
  const under = Math.min(3, count - 1 - index);
  return `dash${index % DASHES} under${under}`;
}

function lineSwatch(index, count) {
  const classes = `line ${seriesClass(index)} ${lineClasses(index, count)}`;
  return svg("svg", { class: "line-swatch", viewBox: "0 0 24 10", width: 24, height: 10, "aria-hidden": "true" },
    svg("line", { class: classes, x1: 1, x2: 23, y1: 5, y2: 5 }));
}

// The key: one entry per series (with the line's dash pattern for line charts), and what the hatching means.
export function legend(names, { lines = false, partial = null } = {}) {
  if (names.length < 2 && !partial) return null;
  const entries = names.length < 2 ? [] : names.map((name, i) =>
    h("li", {}, lines ? lineSwatch(i, names.length) : h("span", { class: "swatch " + seriesClass(i) }), name));
  if (partial) entries.push(h("li", { class: "partial-key" }, h("span", { class: "swatch hatched" }), partial));
  return h("ul", { class: "legend" }, entries);
}
