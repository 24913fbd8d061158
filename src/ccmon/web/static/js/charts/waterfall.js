// A span waterfall as HTML: a session's trace spans on one time axis, children under their parents.

import { clear, h } from "../dom.js";
import { empty, setPoints } from "./figure.js";

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
