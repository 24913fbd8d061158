// The adoption page: how many people use Claude Code, how much, and on which versions and terminals.

import { barChart, pivot, timeChart } from "../charts.js";
import { FORMULAS, count, number, percent } from "../format.js";
import { table } from "../table.js";

export const name = "adoption";
export const title = "Adoption";

function daily(rows, series) {
  return rows.flatMap((r) => series.map(([key, label]) => ({ t: r.day + "T00:00:00Z", series: label, value: r[key] })));
}

// DAU, WAU and MAU per day from `adoption/activity` (here and on the executive page).
export function drawActiveUsers(panel, activity, range) {
  const series = [["dau", "DAU"], ["wau", "WAU"], ["mau", "MAU"]];
  timeChart(panel.figure, panel.body, pivot(daily(activity.rows, series), { ...range, bucket: "1d", order: ["DAU", "WAU", "MAU"] }), {
    format: count,
    label: "Active users per day",
  });
}

function shares(ctx, grid, by, label) {
  const chart = ctx.panel(grid, by + "s", `${label}: people`);
  const list = ctx.panel(grid, by + "s-table", `${label}: people and sessions`, { chart: false });
  const params = ctx.with({ by });
  const answer = ctx.get("adoption/shares", params);
  ctx.fill(chart, answer, (s) =>
    barChart(chart.figure, chart.body, s.rows.map((r) => ({ label: r.key, value: r.users })), { format: count, label }),
  );
  ctx.fill(list, answer, (s) =>
    list.body.replaceChildren(
      table(
        by + "s",
        [
          { key: "key", label },
          { key: "users", label: "People", numeric: true, format: count },
          { key: "sessions", label: "Sessions", numeric: true, format: count },
        ],
        s.rows,
        { csv: { path: "adoption/shares", params, filename: `${by}s.csv` } },
      ),
    ),
  );
}

// Seed 000's success metric, from `adoption/headcount`: the share of the directory's people (within the caller's
// scope) active in the window, in all (a tile at the top) and per team (a table at the end). Without a directory
// (`configured` false) neither is shown. Both are built detached and put in place when the answer says so; a failed
// request shows its reason on the tile. The endpoint takes the window only: the page's filters do not narrow it.
function headcount(ctx, grid) {
  const params = { from: ctx.range.from, to: ctx.range.to };
  const answer = ctx.get("adoption/headcount", params);
  const holder = document.createElement("div");
  const formula = FORMULAS.headcount_share;
  const tiles = ctx.stats(holder, [{ name: "headcount_share", label: "Active of headcount", formula }]);
  const row = holder.lastElementChild;
  const list = ctx.panel(holder, "headcount-teams", "Active of headcount by team", { chart: false, formula });
  const filtered = [...ctx.withFilters().keys()].length > 0;
  const shown = answer.catch((error) => {
    if (error.name !== "AbortError") grid.prepend(row);
    throw error;
  });
  tiles.fill(shown, (a) => {
    if (!a.configured) return;
    grid.prepend(row);
    const scope = filtered ? "whole directory: filters do not apply" : "of the directory";
    const text = `${count(a.active)} of ${count(a.headcount)} · ${percent(a.share)}`;
    tiles.set("headcount_share", a.share, text, `${scope}, active in the ${a.days}-day window`);
  });
  ctx.fill(list, shown.catch(() => ({ configured: false })), (a) => {
    if (!a.configured) return;
    grid.append(list.figure);
    list.body.replaceChildren(
      table(
        "headcount-teams",
        [
          { key: "team", label: "Team" },
          { key: "headcount", label: "Headcount", numeric: true, format: count },
          { key: "active", label: "Active", numeric: true, format: count },
          { key: "share", label: "Share", numeric: true, format: percent, title: formula },
        ],
        a.teams,
        {
          sort: { column: "team", descending: false },
          empty: "Nobody in the directory within your scope",
          csv: { path: "adoption/headcount", params, filename: "headcount-by-team.csv", rows: (h) => h.teams },
        },
      ),
    );
  });
}

export async function render(ctx) {
  ctx.heading("Adoption", "Active people per day, week and month; sessions per person; versions and terminals in use.");
  const grid = ctx.section();
  const activity = ctx.get("adoption/activity", ctx.query);
  const active = ctx.panel(grid, "active-users", "Active users (DAU, WAU, MAU)", { wide: true });
  ctx.fill(active, activity, (a) => drawActiveUsers(active, a, ctx.range));
  const fresh = ctx.panel(grid, "new-users", "New and returning people per day");
  ctx.fill(fresh, activity, (a) =>
    timeChart(fresh.figure, fresh.body, pivot(daily(a.rows, [["returning_users", "returning"], ["new_users", "new"]]), { ...ctx.range, bucket: "1d", order: ["returning", "new"] }), {
      mode: "columns",
      format: count,
      label: "New and returning people",
    }),
  );
  const perUser = ctx.panel(grid, "sessions-per-user", "Sessions per active person per day", { formula: FORMULAS.sessions_per_user });
  ctx.fill(perUser, activity, (a) =>
    timeChart(perUser.figure, perUser.body, pivot(daily(a.rows, [["sessions_per_user", "sessions per person"]]), { ...ctx.range, bucket: "1d", fill: false }), {
      format: (v) => number(v, 1),
      label: "Sessions per person",
    }),
  );
  shares(ctx, grid, "version", "Claude Code version");
  shares(ctx, grid, "terminal", "Terminal");
  headcount(ctx, grid); // asked last: the charts' requests go first
}
