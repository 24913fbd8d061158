// The sessions list: every session active in the window, sorted and paged by the server.

import { h } from "../dom.js";
import { count, duration, time, usd } from "../format.js";
import { current, href, update } from "../state.js";
import { table } from "../table.js";

export const name = "sessions";
export const title = "Sessions";

const PAGE = 50;
const SERVER_SORTABLE = new Set(["started", "duration_s", "prompts", "api_requests", "errors", "tool_calls", "cost_usd", "tokens"]);

export async function render(ctx) {
  ctx.heading("Sessions", "Sessions active in the window. Select one for its timeline.");
  const grid = ctx.section();
  const url = current();
  const sort = url.get("sort") || "started";
  const descending = url.get("order") !== "asc";
  const offset = Math.max(0, Number(url.get("offset")) || 0);
  const list = ctx.panel(grid, "sessions", "Sessions", { chart: false, wide: true });
  const params = ctx.with({ sort, order: descending ? "desc" : "asc", limit: String(PAGE), offset: String(offset) });
  ctx.fill(list, ctx.get("sessions", params), (s) => {
    const pager = h("div", { class: "pager" });
    const last = Math.min(offset + s.rows.length, s.total);
    pager.append(`${s.total ? offset + 1 : 0}–${last} of ${count(s.total)}`);
    if (offset > 0)
      pager.append(h("button", { type: "button", onclick: () => update({ offset: Math.max(0, offset - PAGE) || null }) }, "Previous"));
    if (last < s.total) pager.append(h("button", { type: "button", onclick: () => update({ offset: offset + PAGE }) }, "Next"));
    list.body.replaceChildren(
      table(
        "sessions",
        [
          { key: "session_id", label: "Session", link: (r) => href("/sessions/" + encodeURIComponent(r.session_id)), format: (v) => v.slice(0, 8) },
          { key: "person", label: "Person", link: (r) => href("/people/" + encodeURIComponent(r.person)) },
          { key: "team", label: "Team" },
          { key: "repository", label: "Project" },
          { key: "started", label: "Started", format: time },
          { key: "duration_s", label: "Duration", numeric: true, format: duration },
          { key: "prompts", label: "Prompts", numeric: true, format: count },
          { key: "api_requests", label: "Requests", numeric: true, format: count },
          { key: "errors", label: "Errors", numeric: true, format: count },
          { key: "tool_calls", label: "Tool calls", numeric: true, format: count },
          { key: "cost_usd", label: "Cost", numeric: true, format: usd },
          { key: "tokens", label: "Tokens", numeric: true, format: count },
        ].map((col) => ({ ...col, sortable: SERVER_SORTABLE.has(col.key) })),
        s.rows,
        {
          sort: { column: sort, descending },
          onSort: (column, desc) => update({ sort: column, order: desc ? "desc" : "asc", offset: null }, { replace: true }),
          csv: { path: "sessions", params, filename: "sessions.csv" },
        },
      ),
      pager,
    );
  });
}
