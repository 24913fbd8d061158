// The engineering page: which tools run when and how well, API errors and latency, and sessions per project.

import { barChart, heatmap, pivot, timeChart } from "../charts.js";
import { FORMULAS, count, ms, percent, plural, usd } from "../format.js";
import { TOOL_COLUMNS, table } from "../table.js";

export const name = "engineering";
export const title = "Engineering";

const HOURS = Array.from({ length: 24 }, (_, i) => String(i).padStart(2, "0"));

export async function render(ctx) {
  ctx.heading("Engineering", "Tools, API errors and latency, and sessions per project. Hours are UTC.");
  const grid = ctx.section();

  const heat = ctx.panel(grid, "tool-heatmap", "Tool calls by hour of day (UTC)", { wide: true });
  ctx.fill(heat, ctx.get("engineering/tool-heatmap", ctx.query), (m) => {
    const totals = new Map();
    const cells = new Map();
    for (const r of m.rows) {
      totals.set(r.tool, (totals.get(r.tool) || 0) + r.calls);
      cells.set(r.tool + "\u0000" + String(r.hour).padStart(2, "0"), r.calls);
    }
    const tools = [...totals.keys()].sort((a, b) => totals.get(b) - totals.get(a));
    heatmap(heat.figure, heat.body, {
      rows: tools,
      columns: HOURS,
      value: (tool, hour) => cells.get(tool + "\u0000" + hour) || 0,
      format: (v) => plural(v, "call"),
      label: "Tool calls by tool and hour of day",
    });
  });

  const toolParams = ctx.with();
  const toolsPanel = ctx.panel(grid, "tools", "Tools: calls, success and duration", { chart: false, wide: true });
  const failures = ctx.panel(grid, "tool-failures", "Tool failure rate", {
    formula: FORMULAS.failure_rate,
    csv: { path: "engineering/tools", params: toolParams, filename: "tool-failures.csv" },
  });
  const toolsAnswer = ctx.get("engineering/tools", toolParams);
  ctx.fill(toolsPanel, toolsAnswer, (t) => {
    toolsPanel.body.replaceChildren(
      table(
        "tools",
        TOOL_COLUMNS,
        t.rows,
        { csv: { path: "engineering/tools", params: toolParams, filename: "tools.csv" } },
      ),
    );
    ctx.precision(toolsPanel, t.percentiles);
  });
  ctx.fill(failures, toolsAnswer, (t) =>
    barChart(
      failures.figure,
      failures.body,
      t.rows
        .filter((r) => r.calls > 0 && r.success_rate !== null)
        .map((r) => ({ label: r.tool, value: 1 - r.success_rate }))
        .sort((a, b) => b.value - a.value),
      { format: percent, label: "Failure rate by tool" },
    ),
  );

  const errorParams = ctx.with({ bucket: ctx.bucket });
  const errors = ctx.get("engineering/errors", errorParams);
  const byStatus = ctx.panel(grid, "errors-by-status", "API errors by status code", {
    csv: { path: "engineering/errors", params: errorParams, filename: "errors-by-status.csv", rows: (e) => e.by_status },
  });
  ctx.fill(byStatus, errors, (e) =>
    barChart(
      byStatus.figure,
      byStatus.body,
      e.by_status.map((r) => ({ label: r.status_code === null ? "no status (timeout, network)" : String(r.status_code), value: r.errors })),
      { format: count, label: "API errors by status code" },
    ),
  );
  const rate = ctx.panel(grid, "error-rate", "API error rate", { note: "errors ÷ (requests + errors)", formula: FORMULAS.error_rate });
  ctx.fill(rate, errors, (e) => {
    const rows = e.over_time.rows.filter((r) => r.series === "error_rate");
    timeChart(rate.figure, rate.body, pivot(rows, { ...ctx.range, bucket: e.over_time.bucket, fill: false }), {
      format: percent,
      label: "API error rate",
    });
    rate.figure.querySelector("figcaption").append(` — ${percent(e.error_rate)} overall, ${plural(e.api_errors, "error")}`);
  });

  const latency = ctx.panel(grid, "latency", "API request duration percentiles", { wide: true, formula: FORMULAS.percentile });
  const latencyParams = ctx.with({ measure: "duration", bucket: ctx.bucket });
  ctx.fill(latency, ctx.get("engineering/latency", latencyParams), (ts) => {
    timeChart(latency.figure, latency.body, pivot(ts.rows, { ...ctx.range, bucket: ts.bucket, fill: false, order: ["p50", "p95", "p99"] }), {
      format: ms,
      label: "API latency percentiles",
    });
    ctx.precision(latency, ts.percentiles);
  });

  const byModel = ctx.panel(grid, "latency-by-model", "Requests and latency by model", { chart: false, wide: true });
  const byModelParams = ctx.with();
  const models = ctx.get("engineering/latency-by-model", byModelParams);
  ctx.fill(byModel, models, (l) => {
    ctx.precision(byModel, l.percentiles);
    byModel.body.replaceChildren(
      table(
        "latency-by-model",
        [
          { key: "model", label: "Model" },
          { key: "requests", label: "Requests", numeric: true, format: count },
          { key: "share", label: "Share", numeric: true, format: percent, title: FORMULAS.request_share },
          { key: "duration_p50_ms", label: "Duration p50", numeric: true, format: ms, title: "Median API request duration. " + FORMULAS.percentile },
          { key: "duration_p95_ms", label: "p95", numeric: true, format: ms, title: "95th percentile of API request duration. " + FORMULAS.percentile },
          { key: "duration_p99_ms", label: "p99", numeric: true, format: ms, title: "99th percentile of API request duration. " + FORMULAS.percentile },
          { key: "ttft_p50_ms", label: "First token p50", numeric: true, format: ms, title: "Median time to first token. " + FORMULAS.percentile },
          { key: "ttft_p95_ms", label: "p95", numeric: true, format: ms, title: "95th percentile of time to first token. " + FORMULAS.percentile },
        ],
        l.rows,
        { csv: { path: "engineering/latency-by-model", params: byModelParams, filename: "latency-by-model.csv" } },
      ),
    );
  });
  // Seed 002's model distribution: each model's share of the API requests.
  const shares = ctx.panel(grid, "requests-by-model", "Share of API requests by model", {
    formula: FORMULAS.request_share,
    csv: { path: "engineering/latency-by-model", params: byModelParams, filename: "requests-by-model.csv" },
  });
  ctx.fill(shares, models, (l) =>
    barChart(shares.figure, shares.body, l.rows.map((r) => ({ label: r.model, value: r.share })), { format: percent, label: "Share of API requests by model" }),
  );

  const projects = ctx.panel(grid, "sessions-by-project", "Sessions by project", { chart: false, wide: true });
  const projectParams = ctx.with();
  ctx.fill(projects, ctx.get("engineering/sessions-by-project", projectParams), (p) =>
    projects.body.replaceChildren(
      table(
        "sessions-by-project",
        [
          { key: "project", label: "Project" },
          { key: "sessions", label: "Sessions", numeric: true, format: count },
          { key: "users", label: "People", numeric: true, format: count },
          { key: "prompts", label: "Prompts", numeric: true, format: count },
          { key: "cost_usd", label: "Cost", numeric: true, format: usd },
          { key: "tokens", label: "Tokens", numeric: true, format: count },
        ],
        p.rows,
        { csv: { path: "engineering/sessions-by-project", params: projectParams, filename: "sessions-by-project.csv" } },
      ),
    ),
  );
}
