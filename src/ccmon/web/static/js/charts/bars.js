// Horizontal bars as HTML (a list of proportional tracks): one per row, or stacked by series.

import { clear, h } from "../dom.js";
import { empty, legend, seriesClass, setPoints } from "./figure.js";

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
