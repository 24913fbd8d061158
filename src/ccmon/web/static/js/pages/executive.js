// The executive page: what Claude Code costs against the budget, who uses it, and what it produces.

import { FAMILIES, barChart, pivot, timeChart } from "../charts.js";
import { h } from "../dom.js";
import { FORMULAS, costChange, count, percent, plural, usd } from "../format.js";
import { href, monthAsOf } from "../state.js";
import { table } from "../table.js";
import { drawActiveUsers } from "./adoption.js";
import { firingPanel } from "./alerts/firing.js";

export const name = "executive";
export const title = "Executive";

const DAY_MS = 86400000;

// The tiles show the latest day that has ended (within the window), not the day so far, which reads as a drop
// minutes after midnight; the day so far (when the window holds it) is named in the detail.
function activeDays(rows, range, now = Date.now()) {
  const cutoff = Math.min(Date.parse(range.to), now);
  let complete = null;
  let today = null;
  for (const row of rows) {
    const start = Date.parse(row.day + "T00:00:00Z");
    if (start + DAY_MS <= cutoff) complete = row;
    else if (start <= now && now < start + DAY_MS) today = row;
  }
  return { complete, today };
}

export async function render(ctx) {
  ctx.heading("Executive", "Spend, adoption and output of Claude Code in the selected window.");
  const grid = ctx.section();
  const tiles = ctx.stats(grid, [
    { name: "cost_usd", label: "Spend", formula: FORMULAS.cost_change },
    { name: "active_users", label: "Active users" },
    { name: "cost_per_user", label: "Cost per user", formula: FORMULAS.cost_per_user },
    { name: "pull_requests", label: "Pull requests" },
    { name: "cost_per_pull_request", label: "Cost per PR", formula: FORMULAS.cost_per_pull_request },
    { name: "accept_rate", label: "Edit accept rate", formula: FORMULAS.accept_rate },
    { name: "sessions", label: "Sessions", formula: FORMULAS.cost_per_session },
    { name: "lines_changed", label: "Lines changed", formula: "Lines added + lines removed. " + FORMULAS.lines_per_active_hour },
  ]);
  const firing = firingPanel(ctx, grid);
  const budget = ctx.panel(grid, "budget", "Month to date");
  const budgetTiles = ctx.stats(budget.figure, [
    { name: "month_to_date_usd", label: "Spent this month" },
    { name: "projected_usd", label: "Projected month end", formula: FORMULAS.projected },
  ]);
  const trend = ctx.panel(grid, "cost-trend", "Cost per day by model family", { span: true });
  const users = ctx.panel(grid, "active-users", "Active users (DAU, WAU, MAU)", { wide: true });
  const activeTiles = ctx.stats(users.figure, [
    { name: "dau", label: "DAU" },
    { name: "wau", label: "WAU" },
    { name: "mau", label: "MAU" },
  ]);
  const top = ctx.panel(grid, "top-people", "Top 10 people by tokens", { chart: false, wide: true });

  // Requests in the order they are sent (api.js sends `parallel_requests` at a time): the charts' first.
  const daily = ctx.with({ by: "family", bucket: "1d" });
  ctx.fill(trend, ctx.get("cost/timeseries", daily), (ts) =>
    timeChart(trend.figure, trend.body, pivot(ts.rows, { ...ctx.range, bucket: "1d", order: FAMILIES }), {
      mode: "columns",
      format: usd,
      label: "Cost per day",
    }),
  );

  // Month to date as of the window's end, so a past window shows that month.
  const monthToDate = ctx.get("cost/month-to-date", ctx.withFilters({ as_of: monthAsOf(ctx.range) }));
  ctx.fill(budget, Promise.all([monthToDate, ctx.info]), ([m, info]) => {
    const limit = info ? info.monthly_budget_usd : null;
    const share = limit ? `${percent(m.spend_usd / limit)} of ${usd(limit)}` : "";
    budgetTiles.set("month_to_date_usd", m.spend_usd, usd(m.spend_usd), share);
    budgetTiles.set("projected_usd", m.projected_month_end_usd, usd(m.projected_month_end_usd), limit ? `budget ${usd(limit)}` : "");
    const rows = [
      { label: "Spent", value: m.spend_usd },
      { label: "Projected", value: m.projected_month_end_usd },
    ];
    if (limit) rows.push({ label: "Budget", value: limit });
    barChart(budget.figure, budget.body, rows, { format: usd, label: "Month-to-date spend" });
    if (!limit) budget.body.append(h("p", { class: "hint" }, "No budget set (setting monthly_budget_usd)."));
  });

  ctx.fill(users, ctx.get("adoption/activity", ctx.query), (activity) => {
    const { complete, today } = activeDays(activity.rows, ctx.range);
    const last = activity.rows[activity.rows.length - 1] || null;
    for (const key of ["dau", "wau", "mau"]) {
      if (complete) {
        const soFar = today ? ` · today so far: ${count(today[key])}` : "";
        activeTiles.set(key, complete[key], count(complete[key]), `on ${complete.day}${soFar}`);
      } else if (today) activeTiles.set(key, today[key], count(today[key]), `today (${today.day}) so far`);
      else if (last) activeTiles.set(key, last[key], count(last[key]), `on ${last.day} (part of the day)`);
      else activeTiles.set(key, 0, count(0), "");
    }
    drawActiveUsers(users, activity, ctx.range);
  });

  tiles.fill(ctx.get("overview", ctx.query), (o) => {
    tiles.set("cost_usd", o.current.cost_usd, usd(o.current.cost_usd), costChange(o.cost_change_pct));
    tiles.set("active_users", o.active_users, count(o.active_users));
    // Cost of the people identified ÷ active users; cost without a person is not anyone's.
    const unattributed = o.unattributed_cost_usd ? `${usd(o.unattributed_cost_usd)} not attributed to anyone` : "";
    tiles.set("cost_per_user", o.cost_per_user, usd(o.cost_per_user), unattributed);
    tiles.set("pull_requests", o.current.pull_requests, count(o.current.pull_requests), plural(o.current.commits, "commit"));
    tiles.set("cost_per_pull_request", o.cost_per_pull_request, usd(o.cost_per_pull_request));
    tiles.set("accept_rate", o.edit_accept_rate, percent(o.edit_accept_rate));
    tiles.set("sessions", o.current.sessions, count(o.current.sessions), `${usd(o.cost_per_session)} each`);
    const perHour = o.lines_per_active_hour === null ? "" : `${count(o.lines_per_active_hour)} added per active hour`;
    tiles.set("lines_changed", o.lines_changed, count(o.lines_changed), perHour);
  });

  firing.load(); // last: a few rows, and never what the page waits for first

  const params = ctx.with({ sort: "tokens", order: "desc", limit: "10" });
  ctx.fill(top, ctx.get("people/leaderboard", params), (board) => {
    top.body.replaceChildren(
      table(
        "top-people",
        [
          { key: "key", label: "Person", link: (r) => href("/people/" + encodeURIComponent(r.key)) },
          { key: "team", label: "Team" },
          { key: "tokens", label: "Tokens", numeric: true, format: count },
          { key: "cost_usd", label: "Cost", numeric: true, format: usd },
          { key: "pull_requests", label: "PRs", numeric: true, format: count },
          { key: "accept_rate", label: "Accept rate", numeric: true, format: percent, title: FORMULAS.accept_rate },
        ],
        board.rows,
        { csv: { path: "people/leaderboard", params, filename: "top-people.csv" } },
      ),
    );
  });
}
