// The people page: the leaderboard (seed 000: developer, PRs, commits, cost, cost per PR, accept rate) and the team
// comparison. The leaderboard is sorted and paged by the server; its sort is kept in the URL.

import { barChart } from "../charts.js";
import { FORMULAS, count, duration, percent, time, usd } from "../format.js";
import { href } from "../state.js";
import { serverPaged, table } from "../table.js";

export const name = "people";
export const title = "People";

const PAGE = 50;

// The usage-limit table (`ccmon statusline`'s reports): the filters `/people/limits` takes.
const LIMIT_PARAMS = new Set(["from", "to", "person", "team", "department", "cost_center", "model"]);
const WINDOW_LABELS = { five_hour: "5 hours", seven_day: "7 days" };

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

  // Usage limits (5 h / 7 d): reported by `ccmon statusline` only, so the section is there only when someone runs it;
  // a caller who may not list people (403) or an older server simply does not get it.
  const limitParams = ctx.with();
  for (const key of [...limitParams.keys()]) if (!LIMIT_PARAMS.has(key)) limitParams.delete(key);
  const limits = ctx.get("people/limits", limitParams).catch(() => ({ rows: [] }));
  ctx.pending.push(
    limits.then((l) => {
      if (!l.rows.length) return;
      const panel = ctx.panel(ctx.section(), "usage-limits", "Usage limits — reported by ccmon statusline, not by Claude Code's telemetry", {
        chart: false,
        wide: true,
        note: l.note,
        csv: { path: "people/limits", params: limitParams, filename: "usage-limits.csv" },
      });
      const rows = l.rows.map((r) => ({ ...r, window: WINDOW_LABELS[r.window] || r.window, used: r.used_pct / 100 }));
      panel.body.replaceChildren(
        table("usage-limits", [
          { key: "person", label: "Person", link: (r) => href("/people/" + encodeURIComponent(r.person)) },
          { key: "team", label: "Team" },
          { key: "window", label: "Window" },
          { key: "used", label: "Used", numeric: true, format: percent, title: "Share of the Claude subscription's limit used in this window, as Claude Code reported it to the status line" },
          { key: "resets_at", label: "Resets (UTC)", format: time },
          { key: "reported_at", label: "Reported (UTC)", format: time },
          { key: "session_id", label: "Session", link: (r) => (r.session_id ? href("/sessions/" + encodeURIComponent(r.session_id)) : null), format: (v) => (v ? v.slice(0, 8) : "—") },
        ], rows, { sort: { column: "used", descending: true } }),
      );
    }),
  );
}
