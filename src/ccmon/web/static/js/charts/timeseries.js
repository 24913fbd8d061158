// Time series drawn as SVG: lines, stacked areas or stacked columns on one scale, or small multiples (one small
// chart per series, each on its own scale) when the series differ by orders of magnitude. Lines that coincide stay
// visible (own dash pattern, the lower one wider); buckets that have not ended are hatched, titled and drawn lighter.

import { clear, h, svg } from "../dom.js";
import { timeTicks, yTicks } from "./axis.js";
import { HEIGHT, MARGIN, empty, legend, lineClasses, seriesClass, setPartial, setPoints, width } from "./figure.js";

let hatches = 0; // ids of the hatching patterns, unique on the page
const MULTIPLE_MIN = 300; // px: the narrowest small multiple
const GAP = 12; // px between small multiples (app.css: .multiples)

function countPoints(series) {
  return series.reduce((n, s) => n + s.values.filter((v) => v !== null && v !== 0).length, 0);
}

// Each series' drawn values: its own (lines) or the running total (stacked), and the total below it.
function layersOf(series, n, stacked) {
  const tops = new Array(n).fill(0);
  return series.map((s) => {
    const base = tops.slice();
    const values = s.values.map((v, i) => {
      if (v === null) return null;
      if (stacked) tops[i] += v;
      return stacked ? tops[i] : v;
    });
    return { name: s.name, base, values };
  });
}

// A path through values[lo..hi] (inclusive), broken at gaps.
function through(values, lo, hi, x, y) {
  let d = "";
  let pen = false;
  for (let i = lo; i <= hi; i++) {
    const v = values[i];
    if (v === null) {
      pen = false;
      continue;
    }
    d += (pen ? "L" : "M") + x(i).toFixed(1) + "," + y(v).toFixed(1);
    pen = true;
  }
  return d;
}

function hatching(chart) {
  const id = "ccmon-hatch-" + ++hatches;
  chart.append(
    svg("defs", {}, svg("pattern", { id, width: 6, height: 6, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" },
      svg("line", { class: "hatch", x1: 0, y1: 0, x2: 0, y2: 6 }))),
  );
  return `url(#${id})`;
}

// One chart's SVG and its tooltip. `colour` offsets the palette (a small multiple keeps its series' colour).
function draw(data, { mode, format, label, w, height, colour = 0 }) {
  const plotW = w - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const n = data.times.length;
  const layers = layersOf(data.series, n, mode !== "line");
  const max = Math.max(0, ...layers.flatMap((l) => l.values.filter((v) => v !== null)));
  const { top, ticks } = yTicks(max, height < 180 ? 3 : 4);
  const slot = plotW / Math.max(n, 1);
  const x = (i) => MARGIN.left + slot * (i + 0.5);
  const y = (v) => MARGIN.top + plotH - (v / top) * plotH;
  const partialAt = data.partial ? data.partial.index : n; // buckets from here on have not ended

  const chart = svg("svg", { viewBox: `0 0 ${w} ${height}`, width: "100%", role: "img", "aria-label": label, class: "chart-svg" });
  let previous = null;
  for (const tick of ticks) {
    chart.append(svg("line", { class: "gridline", x1: MARGIN.left, x2: w - MARGIN.right, y1: y(tick), y2: y(tick) }));
    const text = format(tick);
    if (text !== previous) chart.append(svg("text", { class: "axis y", x: MARGIN.left - 6, y: y(tick) + 4, "text-anchor": "end" }, text));
    previous = text;
  }
  for (const tick of timeTicks(data.times, data.step, plotW)) {
    const at = MARGIN.left + slot * ((tick.t - data.times[0]) / data.step + (tick.center ? 0.5 : 0));
    chart.append(svg("line", { class: "tick", x1: at, x2: at, y1: MARGIN.top + plotH, y2: MARGIN.top + plotH + 4 }));
    chart.append(svg("text", { class: "axis x", x: at, y: height - 8, "text-anchor": "middle" }, tick.label));
  }
  if (data.partial) {
    const left = MARGIN.left + slot * partialAt;
    chart.append(
      svg("rect", { class: "partial-zone", x: left, y: MARGIN.top, width: w - MARGIN.right - left, height: plotH, fill: hatching(chart) },
        svg("title", {}, data.partial.title)),
    );
  }
  layers.forEach((layer, li) => {
    const cls = seriesClass(li + colour);
    const named = { "data-series": layer.name };
    if (mode === "columns") {
      const bw = Math.max(1, slot * 0.7);
      layer.values.forEach((v, i) => {
        if (v === null || v === layer.base[i]) return;
        const part = i >= partialAt ? " partial" : "";
        chart.append(svg("rect", { class: "bar " + cls + part, ...named, x: x(i) - bw / 2, y: y(v), width: bw, height: Math.max(0.5, y(layer.base[i]) - y(v)) }));
      });
      return;
    }
    const style = mode === "line" ? " " + lineClasses(li, layers.length) : "";
    // Complete buckets, then the partial ones from the last complete bucket on (lighter, dashed).
    const pieces = [[0, partialAt - 1, ""]];
    if (partialAt < n) pieces.push([Math.max(0, partialAt - 1), n - 1, " partial"]);
    for (const [lo, hi, part] of pieces) {
      const d = through(layer.values, lo, hi, x, y);
      if (!d) continue;
      if (mode === "area") {
        let back = "";
        for (let i = hi; i >= lo; i--) back += "L" + x(i).toFixed(1) + "," + y(layer.base[i]).toFixed(1);
        chart.append(svg("path", { class: "area " + cls + part, ...named, d: d + back + "Z" }));
      }
      chart.append(svg("path", { class: "line " + cls + style + part, ...named, d }));
    }
    if (n <= 60) {
      const under = Math.min(3, layers.length - 1 - li);
      layer.values.forEach((v, i) => {
        if (v === null) return;
        const r = mode === "line" ? 2.5 + 0.75 * under : 2.5;
        chart.append(svg("circle", { class: "dot " + cls + (i >= partialAt ? " partial" : ""), cx: x(i), cy: y(v), r }));
      });
    }
  });
  const guide = svg("line", { class: "guide", y1: MARGIN.top, y2: MARGIN.top + plotH, x1: 0, x2: 0, visibility: "hidden" });
  chart.append(guide);
  const tip = h("div", { class: "tooltip", hidden: true });
  const overlay = svg("rect", { class: "overlay", x: MARGIN.left, y: MARGIN.top, width: plotW, height: plotH });
  overlay.addEventListener("mousemove", (event) => {
    const box = chart.getBoundingClientRect();
    const px = ((event.clientX - box.left) / box.width) * w;
    const i = Math.min(n - 1, Math.max(0, Math.floor((px - MARGIN.left) / slot)));
    guide.setAttribute("x1", x(i));
    guide.setAttribute("x2", x(i));
    guide.setAttribute("visibility", "visible");
    clear(tip).append(
      h("strong", {}, new Date(data.times[i]).toISOString().slice(0, 16).replace("T", " ")),
      i >= partialAt ? h("div", { class: "partial-note" }, data.partial.title) : null,
      ...data.series.map((s, si) =>
        h("div", {}, h("span", { class: "swatch " + seriesClass(si + colour) }), `${s.name}: ${s.values[i] === null ? "—" : format(s.values[i])}`),
      ),
    );
    tip.hidden = false;
    const left = ((x(i) / w) * box.width) | 0;
    tip.style.left = Math.min(left + 12, box.width - 180) + "px";
  });
  overlay.addEventListener("mouseleave", () => {
    tip.hidden = true;
    guide.setAttribute("visibility", "hidden");
  });
  chart.append(overlay);
  return { chart, tip };
}

// A time series chart over `pivot`'s data. mode: "line", "area" (stacked) or "columns" (stacked).
export function timeChart(figure, body, data, { mode = "line", format = String, label = "" } = {}) {
  const points = countPoints(data.series);
  if (points === 0) return empty(figure, body);
  const { chart, tip } = draw(data, { mode, format, label, w: width(body), height: HEIGHT });
  setPoints(figure, points);
  setPartial(figure, data.partial);
  clear(body).append(chart, tip);
  const key = legend(data.series.map((s) => s.name), { lines: mode === "line", partial: data.partial?.title });
  if (key) body.append(key);
}

// One small chart per series, each on its own scale (side by side when there is room), titled with its total: for
// series of different magnitudes (cache reads dwarf output tokens).
export function smallMultiples(figure, body, data, { mode = "area", format = String, label = "", total = format } = {}) {
  const points = countPoints(data.series);
  if (points === 0) return empty(figure, body);
  // As many columns as fit at MULTIPLE_MIN px each (the grid gets the same count, so each SVG keeps its scale).
  const full = width(body);
  const columns = Math.max(1, Math.min(data.series.length, Math.floor((full + GAP) / (MULTIPLE_MIN + GAP))));
  const w = Math.floor((full - GAP * (columns - 1)) / columns);
  const cells = data.series.map((s, si) => {
    const sum = s.values.reduce((a, b) => a + (b || 0), 0);
    const cell = h("div", { class: "multiple", "data-series": s.name },
      h("p", { class: "multiple-title" }, h("span", { class: "swatch " + seriesClass(si) }), s.name, h("span", { class: "note" }, `${total(sum)} in all`)));
    if (countPoints([s]) === 0) {
      cell.append(h("p", { class: "empty" }, "None in this range"));
      return cell;
    }
    const one = { ...data, series: [s] };
    const { chart, tip } = draw(one, { mode, format, label: `${label}: ${s.name}`, w, height: 150, colour: si });
    chart.dataset.series = s.name;
    cell.append(chart, tip);
    return cell;
  });
  setPoints(figure, points);
  setPartial(figure, data.partial);
  const grid = h("div", { class: "multiples" }, cells);
  grid.style.gridTemplateColumns = `repeat(${columns}, minmax(0, 1fr))`;
  clear(body).append(grid, h("p", { class: "hint" }, "Each on its own scale."));
  const key = legend([], { partial: data.partial?.title });
  if (key) body.append(key);
}
