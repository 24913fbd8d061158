// A heatmap as SVG: rows × columns of cells shaded by value.

import { clear, svg } from "../dom.js";
import { empty, setPoints, width } from "./figure.js";

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
