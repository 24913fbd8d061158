// The people page: the leaderboard (seed 000: developer, PRs, commits, cost, cost per PR, accept rate) and the team
// comparison. The leaderboard is sorted and paged by the server; its sort is kept in the URL.

import { barChart } from "../charts.js";
import { FORMULAS, count, duration, percent, usd } from "../format.js";
import { href } from "../state.js";
import { serverPaged, table } from "../table.js";

export const name = "people";
export const title = "People";

const PAGE = 50;

function standingColumns(keyLabel, link) {
  return [
    { key: "key", label: keyLabel, link },
    { key: "team", label: "Team" },
    { key: "pull_requests", label: "PRs", numeric: true, format: count },
    { key: "commits", label: "Commits", numeric: true, format: count },
    { key: "lines_added", label: "Lines added", numeric: true, format: count },
    { key: "cost_usd", label: "Cost", numeric: true, format: usd },
    { key: "cost_per_pull_request", label: "Cost per PR", numeric: true, format: usd, title: FORMULAS.cost_per_pull_request },
    { key: "accept_rate", label: "Accept rate", numeric: true, format: percent, title: FORMULAS.accept_rate },
    { key: "tokens", label: "Tokens", numeric: true, format: count, title: "Tokens of every type: input + output + cache read + cache creation" },
    { key: "sessions", label: "Sessions", numeric: true, format: count },
    { key: "active_time_s", label: "Active time", numeric: true, format: duration, title: "Active time = user (typing) + CLI (Claude Code working)" },
  ];
}

export async function render(ctx) {
  ctx.heading("People", "Who uses Claude Code, what it produces for them and what it costs. Select a person for their page.");
  const grid = ctx.section();
  const paged = serverPaged("cost_usd", PAGE);
  const board = ctx.panel(grid, "leaderboard", "Leaderboard", { chart: false, wide: true });
  const params = ctx.with({ group: "person", ...paged.params });
  ctx.fill(board, ctx.get("people/leaderboard", params), (b) => {
    board.body.replaceChildren(
      table("leaderboard", standingColumns("Person", (r) => href("/people/" + encodeURIComponent(r.key))), b.rows, {
        ...paged.options,
        csv: { path: "people/leaderboard", params, filename: "leaderboard.csv" },
      }),
      paged.pager(b.rows.length, b.total),
    );
  });

  const teamParams = ctx.with({ group: "team", sort: "cost_usd", order: "desc", limit: "1000" });
  const teams = ctx.get("people/leaderboard", teamParams);
  const teamChart = ctx.panel(grid, "cost-by-team", "Cost by team", {
    csv: { path: "people/leaderboard", params: teamParams, filename: "cost-by-team.csv" },
  });
  ctx.fill(teamChart, teams, (t) =>
    barChart(teamChart.figure, teamChart.body, t.rows.map((r) => ({ label: r.key, value: r.cost_usd })), { format: usd, label: "Cost by team" }),
  );
  const prChart = ctx.panel(grid, "prs-by-team", "Pull requests by team", {
    csv: { path: "people/leaderboard", params: teamParams, filename: "prs-by-team.csv" },
  });
  ctx.fill(prChart, teams, (t) =>
    barChart(prChart.figure, prChart.body, t.rows.map((r) => ({ label: r.key, value: r.pull_requests })), { format: count, label: "Pull requests by team" }),
  );
  const comparison = ctx.panel(grid, "teams", "Team comparison", { chart: false, wide: true });
  ctx.fill(comparison, teams, (t) =>
    comparison.body.replaceChildren(
      table("teams", standingColumns("Team", (r) => href("/people", { team: r.key })).filter((c) => c.key !== "team"), t.rows, {
        sort: { column: "cost_usd", descending: true },
        csv: { path: "people/leaderboard", params: teamParams, filename: "teams.csv" },
      }),
    ),
  );
}
