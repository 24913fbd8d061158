// Charts drawn here as SVG (nothing fetched from elsewhere, so the UI works offline): time series as lines,
// stacked areas or stacked columns, horizontal bars, a heatmap and a span waterfall. Each chart marks its figure
// with `data-points` (how many values it drew) and, with nothing to draw, says so instead of an empty frame.

import { clear, h, svg } from "./dom.js";

const HEIGHT = 240;
const MARGIN = { top: 12, right: 16, bottom: 28, left: 64 };
const BUCKET_SECONDS = { "1m": 60, "5m": 300, "15m": 900, "1h": 3600, "6h": 21600, "1d": 86400, "1w": 604800 };
const MONDAY_OFFSET_MS = 4 * 86400000; // 1970-01-01 was a Thursday; ClickHouse's weeks start on Monday
const PALETTE_SIZE = 8;

// Model families in one order everywhere, so each keeps its colour on every page.
export const FAMILIES = ["opus", "sonnet", "haiku", "other"];

function setPoints(figure, points) {
  figure.dataset.points = String(points);
  figure.dataset.drawnMs = String(Math.round(performance.now())); // since navigation: bench/ui.py reads it
  if (points === 0) figure.dataset.empty = "true";
  else delete figure.dataset.empty;
}

function empty(figure, body, message = "No data in this range") {
  setPoints(figure, 0);
  clear(body).append(h("p", { class: "empty" }, message));
}

function width(body) {
  return Math.max(320, Math.floor(body.clientWidth || body.parentElement?.clientWidth || 640));
}

function niceStep(max, ticks) {
  const raw = max / ticks;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const residual = raw / magnitude;
  const nice = residual > 5 ? 10 : residual > 2 ? 5 : residual > 1 ? 2 : 1;
  return nice * magnitude;
}

function yTicks(max) {
  if (!(max > 0)) return { top: 1, ticks: [0, 1] };
  const step = niceStep(max, 4);
  const top = Math.ceil(max / step) * step;
  const ticks = [];
  for (let v = 0; v <= top + step / 2; v += step) ticks.push(v);
  return { top, ticks };
}

function seriesClass(index) {
  return "s" + (index % PALETTE_SIZE);
}

function legend(names) {
  if (names.length < 2) return null;
  return h(
    "ul",
    { class: "legend" },
    names.map((name, i) => h("li", {}, h("span", { class: "swatch " + seriesClass(i) }), name)),
  );
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
  return { times, step, series: names.map((name) => ({ name, values: byName.get(name) })) };
}

function timeLabel(t, step, span) {
  const iso = new Date(t).toISOString();
  if (step >= 86400000 || span > 3 * 86400000) return iso.slice(5, 10);
  return iso.slice(11, 16);
}

// A time series chart. mode: "line", "area" (stacked) or "columns" (stacked).
export function timeChart(figure, body, data, { mode = "line", format = String, label = "" } = {}) {
  const points = data.series.reduce((n, s) => n + s.values.filter((v) => v !== null && v !== 0).length, 0);
  if (points === 0) return empty(figure, body);
  const w = width(body);
  const plotW = w - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const n = data.times.length;
  const stacked = mode !== "line";
  const tops = data.times.map(() => 0);
  const layers = data.series.map((s) => {
    const base = tops.slice();
    const values = s.values.map((v, i) => {
      if (v === null) return null;
      if (stacked) tops[i] += v;
      return stacked ? tops[i] : v;
    });
    return { name: s.name, base, values };
  });
  const max = Math.max(0, ...layers.flatMap((l) => l.values.filter((v) => v !== null)));
  const { top, ticks } = yTicks(max);
  const slot = plotW / Math.max(n, 1);
  const x = (i) => MARGIN.left + slot * (i + 0.5);
  const y = (v) => MARGIN.top + plotH - (v / top) * plotH;

  const chart = svg("svg", {
    viewBox: `0 0 ${w} ${HEIGHT}`,
    width: "100%",
    role: "img",
    "aria-label": label,
    class: "chart-svg",
  });
  for (const tick of ticks) {
    chart.append(svg("line", { class: "gridline", x1: MARGIN.left, x2: w - MARGIN.right, y1: y(tick), y2: y(tick) }));
    chart.append(svg("text", { class: "axis", x: MARGIN.left - 6, y: y(tick) + 4, "text-anchor": "end" }, format(tick)));
  }
  const labelEvery = Math.max(1, Math.ceil(n / Math.max(2, Math.floor(plotW / 70))));
  const span = n * data.step;
  for (let i = 0; i < n; i += labelEvery) {
    chart.append(
      svg("text", { class: "axis", x: x(i), y: HEIGHT - 8, "text-anchor": "middle" }, timeLabel(data.times[i], data.step, span)),
    );
  }
  layers.forEach((layer, li) => {
    const cls = seriesClass(li);
    if (mode === "columns") {
      const bw = Math.max(1, slot * 0.7);
      layer.values.forEach((v, i) => {
        if (v === null || v === layer.base[i]) return;
        chart.append(
          svg("rect", { class: "bar " + cls, x: x(i) - bw / 2, y: y(v), width: bw, height: Math.max(0.5, y(layer.base[i]) - y(v)) }),
        );
      });
      return;
    }
    // Lines break at gaps; stacked areas are closed along the layer below.
    let d = "";
    let pen = false;
    layer.values.forEach((v, i) => {
      if (v === null) {
        pen = false;
        return;
      }
      d += (pen ? "L" : "M") + x(i).toFixed(1) + "," + y(v).toFixed(1);
      pen = true;
    });
    if (mode === "area") {
      let back = "";
      for (let i = n - 1; i >= 0; i--) back += "L" + x(i).toFixed(1) + "," + y(layer.base[i]).toFixed(1);
      chart.append(svg("path", { class: "area " + cls, d: d + back + "Z" }));
    }
    chart.append(svg("path", { class: "line " + cls, d }));
    if (n <= 60) {
      layer.values.forEach((v, i) => {
        if (v !== null) chart.append(svg("circle", { class: "dot " + cls, cx: x(i), cy: y(v), r: 2.5 }));
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
      ...data.series.map((s, si) =>
        h("div", {}, h("span", { class: "swatch " + seriesClass(si) }), `${s.name}: ${s.values[i] === null ? "—" : format(s.values[i])}`),
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
  setPoints(figure, points);
  clear(body).append(chart, tip);
  const key = legend(data.series.map((s) => s.name));
  if (key) body.append(key);
}

// Horizontal bars, one per row: rows of {label, value} (or stacked: values by series name, with `series`).
export function barChart(figure, body, rows, { format = String, series = null, label = "", link = null } = {}) {
  const names = series || ["value"];
  const totals = rows.map((r) => (series ? names.reduce((t, n) => t + (r.values[n] || 0), 0) : r.value || 0));
  const points = rows.filter((_, i) => totals[i] !== 0).length;
  if (points === 0) return empty(figure, body);
  const max = Math.max(...totals);
  const list = h("ul", { class: "bars", role: "list", "aria-label": label });
  rows.forEach((row, i) => {
    const track = h("span", { class: "track" });
    for (const [si, name] of names.entries()) {
      const v = series ? row.values[name] || 0 : row.value || 0;
      if (!v) continue;
      const bar = h("span", { class: "bar " + seriesClass(series ? si : 0), title: `${name}: ${format(v)}` });
      bar.style.width = ((v / max) * 100).toFixed(2) + "%";
      track.append(bar);
    }
    const name = link ? h("a", { href: link(row) }, row.label) : row.label;
    list.append(h("li", {}, h("span", { class: "label", title: row.label }, name), track, h("span", { class: "num" }, format(totals[i]))));
  });
  setPoints(figure, points);
  clear(body).append(list);
  if (series) {
    const key = legend(names);
    if (key) body.append(key);
  }
}

// A grid of cells shaded by value: rows × columns (tool × hour of day).
export function heatmap(figure, body, { rows, columns, value, format = String, label = "" }) {
  let max = 0;
  let points = 0;
  for (const r of rows)
    for (const c of columns) {
      const v = value(r, c);
      if (v) points++;
      max = Math.max(max, v || 0);
    }
  if (points === 0) return empty(figure, body);
  const w = width(body);
  const left = 110;
  const cell = Math.max(8, (w - left - 8) / columns.length);
  const rowH = 22;
  const chart = svg("svg", {
    viewBox: `0 0 ${w} ${rows.length * rowH + 24}`,
    width: "100%",
    role: "img",
    "aria-label": label,
    class: "chart-svg heatmap",
  });
  rows.forEach((r, ri) => {
    chart.append(svg("text", { class: "axis", x: left - 6, y: ri * rowH + 15, "text-anchor": "end" }, r));
    columns.forEach((c, ci) => {
      const v = value(r, c) || 0;
      chart.append(
        svg(
          "rect",
          {
            class: "cell" + (v ? "" : " zero"),
            x: left + ci * cell,
            y: ri * rowH + 2,
            width: cell - 2,
            height: rowH - 4,
            "fill-opacity": v ? (0.15 + 0.85 * (v / max)).toFixed(3) : 1,
          },
          svg("title", {}, `${r} at ${c}: ${format(v)}`),
        ),
      );
    });
  });
  columns.forEach((c, ci) => {
    if (columns.length <= 24 && ci % 3 === 0)
      chart.append(svg("text", { class: "axis", x: left + ci * cell + cell / 2, y: rows.length * rowH + 16, "text-anchor": "middle" }, c));
  });
  setPoints(figure, points);
  clear(body).append(chart);
}

// Spans as bars on one time axis, children under their parents.
export function waterfall(figure, body, spans, { format = String } = {}) {
  if (spans.length === 0) return empty(figure, body, "This session sent no traces");
  const byParent = new Map();
  const ids = new Set(spans.map((s) => s.span_id));
  for (const s of spans) {
    const parent = ids.has(s.parent_span_id) ? s.parent_span_id : "";
    if (!byParent.has(parent)) byParent.set(parent, []);
    byParent.get(parent).push(s);
  }
  const ordered = [];
  const walk = (parent, depth) => {
    const children = (byParent.get(parent) || []).sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
    for (const child of children) {
      ordered.push({ span: child, depth });
      walk(child.span_id, depth + 1);
    }
  };
  walk("", 0);
  const start = Math.min(...spans.map((s) => Date.parse(s.start)));
  const end = Math.max(...spans.map((s) => Date.parse(s.end)));
  const total = Math.max(1, end - start);
  const list = h("ol", { class: "waterfall" });
  for (const { span, depth } of ordered) {
    const bar = h("span", { class: "bar " + (span.status_code === 2 ? "error" : "s0"), title: `${span.name}: ${format(span.duration_ms)}` });
    bar.style.marginLeft = (((Date.parse(span.start) - start) / total) * 100).toFixed(2) + "%";
    bar.style.width = Math.max(0.3, ((Date.parse(span.end) - Date.parse(span.start)) / total) * 100).toFixed(2) + "%";
    const name = h("span", { class: "label" }, span.name);
    name.style.paddingLeft = depth * 12 + "px";
    list.append(h("li", { "data-span": span.span_id }, name, h("span", { class: "track" }, bar), h("span", { class: "num" }, format(span.duration_ms))));
  }
  setPoints(figure, ordered.length);
  clear(body).append(list);
}
