// One person's page: their overview, cost over time and by model, tools and acceptance.

import { FAMILIES, barChart, pivot, timeChart } from "../charts.js";
import { h } from "../dom.js";
import { FORMULAS, costChange, count, duration, percent, usd } from "../format.js";
import { UNKNOWN, href } from "../state.js";
import { TOOL_COLUMNS, table } from "../table.js";

export const name = "person";
export const title = "Person";

// Nothing from this person in the window: no person counted, no session, request, cost or token.
function nothing(summary) {
  const t = summary.tokens;
  return (
    summary.users === 0 &&
    summary.sessions === 0 &&
    summary.api_requests === 0 &&
    summary.cost_usd === 0 &&
    t.input + t.output + t.cache_read + t.cache_creation === 0
  );
}

// Who the person is in the organisation: their team (of their latest data), departments and cost centers (those
// their cost in the window came with), each a link to the People page filtered by it.
function facts(ctx, key) {
  const list = h("dl", { class: "person-facts", id: "person-facts" });
  const add = (dimension, label, values) => {
    const named = values.filter((v) => v && v !== "(rest)");
    if (!named.length) return;
    list.append(
      h("dt", {}, label),
      h(
        "dd",
        { "data-fact": dimension },
        named.flatMap((v, i) => [
          i ? ", " : null,
          v === UNKNOWN ? v : h("a", { href: href("/people", { [dimension]: v, person: null }) }, v),
        ]),
      ),
    );
  };
  const mine = (path, extra) => {
    const params = ctx.with(extra);
    params.set("person", key);
    return ctx.get(path, params);
  };
  const board = mine("people/leaderboard", { group: "person", limit: "1" });
  const departments = mine("cost/breakdown", { by: "department", top: "5" });
  const centers = mine("cost/breakdown", { by: "cost_center", top: "5" });
  ctx.pending.push(
    Promise.all([board, departments, centers]).then(([b, d, c]) => {
      add("team", "Team", b.rows.map((r) => r.team));
      // Only when the data names some: `(unknown)` alone says nothing about this person.
      const named = (rows) => (rows.some((r) => r.key !== UNKNOWN) ? rows.map((r) => r.key) : []);
      add("department", "Department", named(d.rows));
      add("cost_center", "Cost center", named(c.rows));
    }),
  );
  return list;
}

export async function render(ctx, key) {
  ctx.target.append(h("a", { href: href("/people", { person: null }), class: "back" }, "← People"));
  ctx.heading(key, "One person's use of Claude Code in the selected window.");
  const profileParams = ctx.with({ key });
  const profile = ctx.get("people/profile", profileParams);
  const first = await profile;
  if (nothing(first.overview.current)) {
    ctx.target.append(
      h(
        "p",
        { class: "empty", id: "no-person", role: "status" },
        `No telemetry from ${key} in this window. `,
        h("a", { href: href("/people", { person: null }) }, "Back to People"),
        " (or choose a longer window above).",
      ),
    );
    return;
  }
  ctx.target.append(facts(ctx, key));
  const grid = ctx.section();
  const tiles = ctx.stats(grid, [
    { name: "cost_usd", label: "Spend", formula: FORMULAS.cost_change },
    { name: "sessions", label: "Sessions", formula: "Each: " + FORMULAS.cost_per_session },
    { name: "pull_requests", label: "Pull requests", formula: "Each: " + FORMULAS.cost_per_pull_request },
    { name: "commits", label: "Commits" },
    { name: "accept_rate", label: "Edit accept rate", formula: FORMULAS.accept_rate },
    { name: "active_time", label: "Active time", formula: "Active time = user (typing) + CLI (Claude Code working)" },
  ]);
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
  const modelParams = ctx.with({ by: "model" });
  modelParams.set("person", key);
  const models = ctx.panel(grid, "cost-by-model", "Cost by model", {
    csv: { path: "cost/breakdown", params: modelParams, filename: "cost-by-model.csv" },
  });
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
          { key: "accept_rate", label: "Accept rate", numeric: true, format: percent, title: FORMULAS.accept_rate },
        ],
        p.acceptance_by_tool.rows,
        { csv: { path: "people/acceptance", params: acceptanceParams, filename: "acceptance.csv" } },
      ),
    ),
  );
  const tools = ctx.panel(grid, "tools", "Tools", { chart: false, wide: true });
  const toolParams = ctx.with();
  toolParams.set("person", key);
  ctx.fill(tools, profile, (p) => {
    tools.body.replaceChildren(
      table(
        "tools",
        TOOL_COLUMNS,
        p.tools.rows,
        { csv: { path: "engineering/tools", params: toolParams, filename: "tools.csv" } },
      ),
    );
    ctx.precision(tools, p.tools.percentiles);
  });
  ctx.target.append(h("p", {}, h("a", { href: href("/sessions", { person: key }) }, "Their sessions →")));
}
