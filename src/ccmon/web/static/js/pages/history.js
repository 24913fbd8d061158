// The History page: daily cost from every source ccmon has — OTLP telemetry, imported transcripts, the Admin API
// report (`ccmon import`) — stacked by source, and per person and day the source each number comes from. Per person
// and UTC day one source counts (OTLP, else transcripts, else the Admin API): the others are shown as left out.

import { timeChart, pivot } from "../charts.js";
import { h } from "../dom.js";
import { count, usd } from "../format.js";
import { table } from "../table.js";

export const name = "history";
export const title = "History";

const SOURCES = ["otlp", "transcripts", "admin-api"];
const SOURCE_LABELS = { otlp: "OTLP telemetry", transcripts: "Transcripts (imported)", "admin-api": "Admin API (imported)" };
const label = (source) => SOURCE_LABELS[source] || source;
const dayStart = (day) => `${day}T00:00:00Z`;

export async function render(ctx) {
  ctx.heading("History", "Daily cost from telemetry and from imported history (ccmon import), with the source of every number.");
  const grid = ctx.section();
  const tiles = ctx.stats(grid, [
    { name: "total_cost_usd", label: "Cost, every source" },
    ...SOURCES.map((s) => ({ name: `cost_${s}`, label: label(s) })),
    { name: "shadowed_usd", label: "Left out (covered by another source)" },
  ]);
  const answer = ctx.get("history", ctx.with());
  const chart = ctx.panel(grid, "history-by-source", "Daily cost by source", {
    wide: true,
    note: "per person and UTC day, one source counts: OTLP, else transcripts, else the Admin API",
  });
  ctx.fill(chart, answer, (result) => {
    const rows = result.days.map((d) => ({ t: dayStart(d.day), series: label(d.source), value: d.cost_usd }));
    const data = pivot(rows, { ...ctx.range, bucket: "1d", order: SOURCES.map(label) });
    timeChart(chart.figure, chart.body, data, { mode: "columns", format: usd, label: "Daily cost by source" });
  });
  tiles.fill(answer, (result) => {
    tiles.set("total_cost_usd", result.total_cost_usd, usd(result.total_cost_usd));
    for (const s of SOURCES) tiles.set(`cost_${s}`, result.cost_by_source[s] ?? 0, usd(result.cost_by_source[s] ?? 0));
    const shadowed = Object.values(result.shadowed_cost_usd).reduce((a, b) => a + b, 0);
    tiles.set("shadowed_usd", shadowed, usd(shadowed), "not added to the total");
  });

  // Per person and day: only for roles that see people (a 403 leaves the section out, as on the People page).
  const peopleParams = ctx.with({ by: "person" });
  const people = ctx.get("history", peopleParams).catch(() => null);
  ctx.pending.push(
    people.then((result) => {
      if (!result || !result.people) return;
      const panel = ctx.panel(ctx.section(), "history-people", "Per person and day", {
        chart: false,
        wide: true,
        csv: { path: "history", params: peopleParams, filename: "history-per-person.csv" },
      });
      if (!result.people.length) return panel.body.replaceChildren(h("p", { class: "empty" }, "No usage in this window."));
      const rows = result.people.map((r) => ({
        ...r,
        source_label: label(r.source),
        tokens: r.input_tokens + r.output_tokens + r.cache_read_tokens + r.cache_creation_tokens,
        shadowed_label: r.shadowed.map(label).join(", "),
      }));
      panel.body.replaceChildren(
        table("history-people", [
          { key: "day", label: "Day (UTC)" },
          { key: "person", label: "Person" },
          { key: "source_label", label: "Source", title: "Where this day's numbers come from" },
          { key: "cost_usd", label: "Cost", numeric: true, format: (v) => usd(v) },
          { key: "tokens", label: "Tokens", numeric: true, format: count, title: "input + output + cache read + cache creation" },
          { key: "unpriced", label: "Unpriced", numeric: true, format: count, title: "Imported messages whose model has no known price: their cost is missing" },
          { key: "shadowed_label", label: "Also covered by (left out)" },
        ], rows, { sort: { column: "day", descending: true } }),
      );
    }),
  );
}
