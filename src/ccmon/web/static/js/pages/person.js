// One person's page: their overview, cost over time and by model, tools and acceptance.

import { FAMILIES, barChart, pivot, timeChart } from "../charts.js";
import { costChange, count, duration, percent, usd } from "../format.js";
import { href } from "../state.js";
import { TOOL_COLUMNS, table } from "../table.js";

export const name = "person";
export const title = "Person";


export async function render(ctx, key) {
  ctx.heading(key, "One person's use of Claude Code in the selected window.");
  ctx.target.querySelector("h1").before(
    Object.assign(document.createElement("a"), { href: href("/people"), className: "back", textContent: "← People" }),
  );
  const grid = ctx.section();
  const tiles = ctx.stats(grid, [
    { name: "cost_usd", label: "Spend" },
    { name: "sessions", label: "Sessions" },
    { name: "pull_requests", label: "Pull requests" },
    { name: "commits", label: "Commits" },
    { name: "accept_rate", label: "Edit accept rate" },
    { name: "active_time", label: "Active time" },
  ]);
  const profileParams = ctx.with({ key });
  const profile = ctx.get("people/profile", profileParams);
  tiles.fill(profile, (p) => {
    const o = p.overview;
    tiles.set("cost_usd", o.current.cost_usd, usd(o.current.cost_usd), costChange(o.cost_change_pct));
    tiles.set("sessions", o.current.sessions, count(o.current.sessions), `${usd(o.cost_per_session)} each`);
    tiles.set("pull_requests", o.current.pull_requests, count(o.current.pull_requests), `${usd(o.cost_per_pull_request)} each`);
    tiles.set("commits", o.current.commits, count(o.current.commits));
    tiles.set("accept_rate", o.edit_accept_rate, percent(o.edit_accept_rate));
    const active = o.current.active_time_s.user + o.current.active_time_s.cli;
    tiles.set("active_time", active, duration(active), `${duration(o.current.active_time_s.user)} typing`);
  });
  const overTime = ctx.panel(grid, "cost-over-time", "Cost by model family", { wide: true });
  const timeParams = ctx.with({ by: "family", bucket: ctx.bucket });
  timeParams.set("person", key);
  ctx.fill(overTime, ctx.get("cost/timeseries", timeParams), (ts) =>
    timeChart(overTime.figure, overTime.body, pivot(ts.rows, { ...ctx.range, bucket: ts.bucket, order: FAMILIES }), {
      mode: "columns",
      format: usd,
      label: "Cost over time",
    }),
  );
  const models = ctx.panel(grid, "cost-by-model", "Cost by model");
  ctx.fill(models, profile, (p) =>
    barChart(models.figure, models.body, p.cost_by_model.rows.map((r) => ({ label: r.key, value: r.cost_usd })), { format: usd, label: "Cost by model" }),
  );
  const acceptance = ctx.panel(grid, "acceptance", "Code edits accepted by tool", { chart: false });
  const acceptanceParams = ctx.with({ by: "tool" });
  acceptanceParams.set("person", key);
  ctx.fill(acceptance, profile, (p) =>
    acceptance.body.replaceChildren(
      table(
        "acceptance",
        [
          { key: "key", label: "Tool" },
          { key: "accepted", label: "Accepted", numeric: true, format: count },
          { key: "rejected", label: "Rejected", numeric: true, format: count },
          { key: "accept_rate", label: "Accept rate", numeric: true, format: percent },
        ],
        p.acceptance_by_tool.rows,
        { csv: { path: "people/acceptance", params: acceptanceParams, filename: "acceptance.csv" } },
      ),
    ),
  );
  const tools = ctx.panel(grid, "tools", "Tools", { chart: false, wide: true });
  const toolParams = ctx.with();
  toolParams.set("person", key);
  ctx.fill(tools, profile, (p) =>
    tools.body.replaceChildren(
      table(
        "tools",
        TOOL_COLUMNS,
        p.tools.rows,
        { csv: { path: "engineering/tools", params: toolParams, filename: "tools.csv" } },
      ),
    ),
  );
  const sessionsLink = document.createElement("p");
  sessionsLink.append(Object.assign(document.createElement("a"), { href: href("/sessions", { person: key }), textContent: "Their sessions →" }));
  ctx.target.append(sessionsLink);
}
