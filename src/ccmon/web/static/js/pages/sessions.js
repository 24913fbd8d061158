// The sessions list: every session active in the window, sorted and paged by the server.

import { count, duration, time, usd } from "../format.js";
import { UNKNOWN, href } from "../state.js";
import { serverPaged, table } from "../table.js";

export const name = "sessions";
export const title = "Sessions";

const PAGE = 50;
const SERVER_SORTABLE = new Set(["started", "duration_s", "prompts", "api_requests", "errors", "tool_calls", "cost_usd", "tokens"]);

export async function render(ctx) {
  ctx.heading("Sessions", "Sessions active in the window. Select one for its timeline.");
  const grid = ctx.section();
  const paged = serverPaged("started", PAGE);
  const list = ctx.panel(grid, "sessions", "Sessions", { chart: false, wide: true });
  const params = ctx.with(paged.params);
  ctx.fill(list, ctx.get("sessions", params), (s) => {
    list.body.replaceChildren(
      table(
        "sessions",
        [
          // `(unknown)`: the data sent without a session id, which is not a session and has no page.
          { key: "session_id", label: "Session", link: (r) => (r.session_id === UNKNOWN ? null : href("/sessions/" + encodeURIComponent(r.session_id))), format: (v) => (v === UNKNOWN ? v : v.slice(0, 8)) },
          { key: "person", label: "Person", link: (r) => href("/people/" + encodeURIComponent(r.person)) },
          { key: "team", label: "Team" },
          { key: "project", label: "Project" },
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
        { ...paged.options, csv: { path: "sessions", params, filename: "sessions.csv" } },
      ),
      paged.pager(s.rows.length, s.total),
    );
  });
}
