// The cost page: where the money goes (model family, team, project, model), how efficiently tokens are used, and
// where the month is heading.

import { FAMILIES, barChart, pivot, smallMultiples, timeChart } from "../charts.js";
import { FORMULAS, count, number, percent, usd } from "../format.js";
import { monthAsOf } from "../state.js";
import { table } from "../table.js";
import { costCheckTable } from "../costcheck.js";

export const name = "cost";
export const title = "Cost";

const TOKEN_TYPES = ["input", "output", "cache_read", "cache_creation"];

export async function render(ctx) {
  ctx.heading("Cost", "Spend by model, team and project; token and cache efficiency; the month-end projection.");
  const grid = ctx.section();
  const tiles = ctx.stats(grid, [
    { name: "cost_usd", label: "Spend" },
    { name: "month_to_date_usd", label: "Spent this month" },
    { name: "projected_usd", label: "Projected month end", formula: FORMULAS.projected },
    { name: "token_efficiency", label: "Output per input token", formula: FORMULAS.token_efficiency },
    { name: "cache_efficiency", label: "Cache efficiency", formula: FORMULAS.cache_efficiency },
    { name: "cost_per_million_tokens", label: "Cost per million tokens (all types, incl. cache)", formula: FORMULAS.cost_per_million_tokens },
  ]);
  tiles.fill(ctx.get("cost/efficiency", ctx.query), (e) => {
    tiles.set("token_efficiency", e.token_efficiency, number(e.token_efficiency), "output ÷ input tokens");
    tiles.set("cache_efficiency", e.cache_efficiency, percent(e.cache_efficiency), "cache reads ÷ (input + cache creation + cache reads)");
    tiles.set("cost_per_million_tokens", e.cost_per_million_tokens, usd(e.cost_per_million_tokens), "spend ÷ all tokens incl. cache reads × 10⁶");
  });
  const monthToDate = ctx.get("cost/month-to-date", ctx.withFilters({ as_of: monthAsOf(ctx.range) }));
  tiles.fill(Promise.all([monthToDate, ctx.info]), ([m, info]) => {
    const limit = info ? info.monthly_budget_usd : null;
    tiles.set("month_to_date_usd", m.spend_usd, usd(m.spend_usd), limit ? `of ${usd(limit)} budget` : "");
    tiles.set("projected_usd", m.projected_month_end_usd, usd(m.projected_month_end_usd), "7-day run rate");
  });

  const families = ctx.panel(grid, "cost-by-family", "Cost by model family", { wide: true });
  const familyParams = ctx.with({ by: "family", bucket: ctx.bucket });
  ctx.fill(families, ctx.get("cost/timeseries", familyParams), (ts) => {
    const data = pivot(ts.rows, { ...ctx.range, bucket: ts.bucket, order: FAMILIES });
    timeChart(families.figure, families.body, data, { mode: "area", format: usd, label: "Cost by model family" });
    const total = data.series.reduce((t, s) => t + s.values.reduce((a, b) => a + (b || 0), 0), 0);
    tiles.set("cost_usd", total, usd(total));
  });

  const teamParams = ctx.with({ by: "team", top: "20" });
  const teams = ctx.panel(grid, "cost-by-team", "Cost by team", {
    csv: { path: "cost/breakdown", params: teamParams, filename: "cost-by-team.csv" },
  });
  ctx.fill(teams, ctx.get("cost/breakdown", teamParams), (b) =>
    barChart(teams.figure, teams.body, b.rows.map((r) => ({ label: r.key, value: r.cost_usd })), { format: usd, label: "Cost by team" }),
  );
  // Seed 000: Bedrock, Vertex, the Anthropic API or a subscription (inferred when not set: docs/api.md).
  const providerParams = ctx.with({ by: "provider", top: "10" });
  const providers = ctx.panel(grid, "cost-by-provider", "Cost by provider", {
    csv: { path: "cost/breakdown", params: providerParams, filename: "cost-by-provider.csv" },
  });
  ctx.fill(providers, ctx.get("cost/breakdown", providerParams), (b) =>
    barChart(providers.figure, providers.body, b.rows.map((r) => ({ label: r.key, value: r.cost_usd })), { format: usd, label: "Cost by provider" }),
  );

  // One small chart per type, each on its own scale: cache reads are orders of magnitude more than output tokens
  // (the expensive ones), which would be a flat line at 0 on a shared scale.
  const tokens = ctx.panel(grid, "tokens-over-time", "Tokens by type", { wide: true });
  const tokenParams = ctx.with({ bucket: ctx.bucket });
  ctx.fill(tokens, ctx.get("cost/tokens", tokenParams), (ts) =>
    smallMultiples(tokens.figure, tokens.body, pivot(ts.rows, { ...ctx.range, bucket: ts.bucket, order: TOKEN_TYPES }), {
      mode: "area",
      format: count,
      label: "Tokens by type",
    }),
  );

  const breakdownColumns = (label) => [
    { key: "key", label },
    { key: "cost_usd", label: "Cost", numeric: true, format: usd },
    { key: "share", label: "Share", numeric: true, format: percent, title: FORMULAS.share },
  ];
  const projects = ctx.panel(grid, "cost-by-project", "Cost by project", { chart: false });
  const projectParams = ctx.with({ by: "project", top: "25" });
  ctx.fill(projects, ctx.get("cost/breakdown", projectParams), (b) =>
    projects.body.replaceChildren(
      table("cost-by-project", breakdownColumns("Project"), b.rows, {
        csv: { path: "cost/breakdown", params: projectParams, filename: "cost-by-project.csv" },
        sort: { column: "cost_usd", descending: true },
      }),
    ),
  );
  const models = ctx.panel(grid, "cost-by-model", "Cost by model", { chart: false });
  const modelParams = ctx.with({ by: "model", top: "25" });
  ctx.fill(models, ctx.get("cost/breakdown", modelParams), (b) =>
    models.body.replaceChildren(
      table("cost-by-model", breakdownColumns("Model"), b.rows, {
        csv: { path: "cost/breakdown", params: modelParams, filename: "cost-by-model.csv" },
        sort: { column: "cost_usd", descending: true },
      }),
    ),
  );
  // Claude Code's cost is its own estimate: the same requests priced by ccmon's dated table (docs/interop.md#pricing).
  const check = ctx.panel(grid, "cost-check", "Reported vs. list price", { chart: false, wide: true });
  const csv = { path: "cost/check", params: ctx.query, filename: "cost-check.csv", checkOf: (c) => c };
  ctx.fill(check, ctx.get("cost/check", ctx.query), (c) => check.body.replaceChildren(costCheckTable("cost-check", c, csv)));
}
