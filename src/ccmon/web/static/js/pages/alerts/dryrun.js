// A dry run drawn: each series of the rule's signal over the last days as a line, the threshold as a dashed line,
// and the intervals in which the rule would have been firing (its `for` honoured) shaded; under it, the same
// intervals as text ("Would have fired 2 times: from … to …"), so the answer is readable without the chart.

import { clear, h, svg } from "../../dom.js";
import { timeTicks, yTicks } from "../../charts/axis.js";
import { HEIGHT, MARGIN, legend, lineClasses, seriesClass, setPoints, width } from "../../charts/figure.js";
import { when } from "../access/common.js";
import { labelsText, valueText } from "./common.js";

const MAX_SERIES = 8; // lines beyond these (the smallest) are left out, and the chart says so

function prepare(answer) {
  const all = (answer.series || []).map((s) => ({
    name: labelsText(s.labels),
    points: (s.points || []).map(([t, v]) => [Date.parse(t), v === null ? null : Number(v)]).filter(([t]) => Number.isFinite(t)),
  }));
  const peak = (s) => Math.max(0, ...s.points.map(([, v]) => v ?? 0));
  const series = all.slice().sort((a, b) => peak(b) - peak(a)).slice(0, MAX_SERIES);
  const times = [...new Set(all.flatMap((s) => s.points.map(([t]) => t)))].sort((a, b) => a - b);
  return { series, total: all.length, times };
}

function chart(data, answer, w) {
  const { series, times } = data;
  const threshold = Number(answer.threshold);
  const plotW = w - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const t0 = times[0];
  const t1 = times[times.length - 1] > t0 ? times[times.length - 1] : t0 + 3600000;
  const step = times.length > 1 ? times[1] - times[0] : 3600000;
  const values = series.flatMap((s) => s.points.map(([, v]) => v)).filter((v) => v !== null);
  const { top, ticks } = yTicks(Math.max(0, ...values, Number.isFinite(threshold) ? threshold : 0));
  const x = (t) => MARGIN.left + ((Math.min(Math.max(t, t0), t1) - t0) / (t1 - t0)) * plotW;
  const y = (v) => MARGIN.top + plotH - (v / top) * plotH;
  const root = svg("svg", { viewBox: `0 0 ${w} ${HEIGHT}`, width: "100%", role: "img", "aria-label": "Dry run of the rule", class: "chart-svg dry-run" });
  for (const tick of ticks) {
    root.append(svg("line", { class: "gridline", x1: MARGIN.left, x2: w - MARGIN.right, y1: y(tick), y2: y(tick) }));
    root.append(svg("text", { class: "axis y", x: MARGIN.left - 6, y: y(tick) + 4, "text-anchor": "end" }, valueText(tick)));
  }
  for (const tick of timeTicks(times, step, plotW)) {
    root.append(svg("line", { class: "tick", x1: x(tick.t), x2: x(tick.t), y1: MARGIN.top + plotH, y2: MARGIN.top + plotH + 4 }));
    root.append(svg("text", { class: "axis x", x: x(tick.t), y: HEIGHT - 8, "text-anchor": "middle" }, tick.label));
  }
  for (const interval of answer.firing || []) {
    const start = x(Date.parse(interval.start));
    const end = interval.end ? x(Date.parse(interval.end)) : x(t1);
    const title = `Firing from ${when(interval.start)} to ${interval.end ? when(interval.end) : "the end"}: ${labelsText(interval.labels)}`;
    root.append(svg("rect", { class: "firing-zone", "data-firing": labelsText(interval.labels), x: start, y: MARGIN.top, width: Math.max(2, end - start), height: plotH }, svg("title", {}, title)));
  }
  series.forEach((s, i) => {
    let d = "";
    let pen = false;
    for (const [t, v] of s.points) {
      if (v === null) {
        pen = false;
        continue;
      }
      d += (pen ? "L" : "M") + x(t).toFixed(1) + "," + y(v).toFixed(1);
      pen = true;
    }
    if (d) root.append(svg("path", { class: `line ${seriesClass(i)} ${lineClasses(i, series.length)}`, "data-series": s.name, d }, svg("title", {}, s.name)));
  });
  if (Number.isFinite(threshold))
    root.append(
      svg("line", { class: "threshold", x1: MARGIN.left, x2: w - MARGIN.right, y1: y(threshold), y2: y(threshold) }),
      svg("text", { class: "threshold-label", x: w - MARGIN.right, y: y(threshold) - 4, "text-anchor": "end" }, `${answer.op || ""} ${valueText(threshold)}`),
    );
  return root;
}

// Draw `answer` (POST /alerts/rules/dry-run) into a panel: the chart, its key, and the firing intervals as text.
export function drawDryRun(figure, body, answer, days) {
  const data = prepare(answer);
  const firing = answer.firing || [];
  const points = data.series.reduce((n, s) => n + s.points.length, 0);
  setPoints(figure, points);
  figure.dataset.firing = String(firing.length);
  clear(body);
  if (points === 0) body.append(h("p", { class: "empty" }, `The signal answered nothing in the last ${days} days.`));
  else {
    body.append(chart(data, answer, width(body)));
    const key = legend(data.series.map((s) => s.name), { lines: true });
    const extra = h("ul", { class: "legend" },
      h("li", {}, h("span", { class: "swatch threshold-swatch" }), "threshold"),
      h("li", {}, h("span", { class: "swatch firing-swatch" }), "would have been firing"));
    body.append(key || "", extra);
    if (data.total > data.series.length) body.append(h("p", { class: "hint" }, `The ${data.series.length} largest of ${data.total} series are drawn.`));
  }
  const sentence = firing.length
    ? `Would have fired ${firing.length === 1 ? "once" : `${firing.length} times`} in the last ${days} days:`
    : `Would not have fired in the last ${days} days.`;
  body.append(
    h("p", { class: "dry-run-summary", "data-dry-run": String(firing.length) }, sentence),
    firing.length
      ? h("ol", { class: "firing-list" }, firing.map((f) =>
          h("li", {}, `from ${when(f.start)} to ${f.end ? when(f.end) : "now (still firing)"}`, h("span", { class: "note" }, ` ${labelsText(f.labels)}`))))
      : "",
  );
}
