// The events explorer: events newest first, filtered by name and error text, paged by cursor, with a live tail
// that polls for newer events and puts them on top.

import { h } from "../dom.js";
import { count, seconds, usd, ms } from "../format.js";
import { current, href, update } from "../state.js";
import { table } from "../table.js";
import { describe } from "../page.js";

export const name = "events";
export const title = "Events";

const TAIL_MS = 3000;
const LIMIT = 100;
const MAX_ROWS = 2000; // a tail left running keeps the newest this many
// Claude Code's event names (claude_code.<name>), most common first.
const EVENT_NAMES = [
  "user_prompt", "api_request", "api_error", "tool_decision", "tool_result", "assistant_response", "api_refusal",
  "api_retries_exhausted", "compaction", "hook_execution_start", "hook_execution_complete", "mcp_server_connection",
  "permission_mode_changed", "skill_activated", "subagent_completed", "at_mention", "auth", "internal_error",
  "plugin_installed", "plugin_loaded", "feedback_survey",
];

// The live tail stays on across re-renders of this page (a filter change, a refresh); each render restarts the
// polling for its own table, and leaving the page stops it.
let tailing = false;
let timer = null;

export const autoRefresh = false; // the live tail keeps the page current

export function leave() {
  clearInterval(timer);
  timer = null;
  tailing = false;
}

const identity = (r) => `${r.ts}|${r.session_id}|${r.sequence}|${r.name}`;

const COLUMNS = [
  { key: "ts", label: "Time (UTC)", format: seconds },
  { key: "name", label: "Event" },
  { key: "session_id", label: "Session", link: (r) => href("/sessions/" + encodeURIComponent(r.session_id)), format: (v) => v.slice(0, 8) },
  { key: "person", label: "Person" },
  { key: "model", label: "Model" },
  { key: "tool_name", label: "Tool" },
  { key: "decision", label: "Decision" },
  { key: "success", label: "Success", format: (v) => (v === null ? "" : v ? "yes" : "no") },
  { key: "duration_ms", label: "Duration", numeric: true, format: ms },
  { key: "cost_usd", label: "Cost", numeric: true, format: (v) => (v ? usd(v) : "") },
  { key: "tokens", label: "Tokens", numeric: true, format: (v) => (v ? count(v) : "") },
  { key: "status_code", label: "Status", numeric: true, format: (v) => (v === null ? "" : String(v)) },
  { key: "error", label: "Error" },
];

export async function render(ctx) {
  ctx.heading("Events", "Every event Claude Code sent, newest first. Live tail shows new ones as they arrive.");
  const url = current();
  const chosen = url.get("event") || "";
  const text = url.get("text") || "";
  const search = h(
    "form",
    { class: "explorer-controls", role: "search" },
    h("label", {}, "Event ", h("select", { name: "event" }, h("option", { value: "" }, "All events"), EVENT_NAMES.map((n) => h("option", { value: n, selected: n === chosen }, n)))),
    h("label", {}, "Error text ", h("input", { type: "search", name: "text", value: text, placeholder: "e.g. overloaded" })),
    h("button", { type: "submit" }, "Search"),
    h("button", { type: "button", id: "live-tail", "aria-pressed": String(tailing) }, tailing ? "Stop live tail" : "Live tail"),
  );
  ctx.target.append(search);
  search.addEventListener("submit", (event) => {
    event.preventDefault();
    update({ event: search.elements.event.value || null, text: search.elements.text.value || null });
  });
  search.elements.event.addEventListener("change", () => search.requestSubmit());

  const grid = ctx.section();
  const list = ctx.panel(grid, "events", "Events", { chart: false, wide: true });
  const params = ctx.with({ limit: String(LIMIT) });
  if (chosen) params.set("name", chosen);
  if (text) params.set("text", text);
  let rows = [];
  let cursor = null;
  const more = h("button", { type: "button", class: "more" }, "Older events");
  const draw = () => {
    list.body.replaceChildren(
      table("events", COLUMNS, rows, { csv: { path: "events", params, filename: "events.csv" }, empty: "No events in this range" }),
      cursor ? more : "",
    );
  };
  more.addEventListener("click", async () => {
    const page = await ctx.get("events", new URLSearchParams({ ...Object.fromEntries(params), cursor }));
    rows = rows.concat(page.rows);
    cursor = page.next_cursor;
    draw();
  });
  ctx.fill(list, ctx.get("events", params), (page) => {
    rows = page.rows;
    cursor = page.next_cursor;
    draw();
  });

  const toggle = search.querySelector("#live-tail");
  const follow = (on) => {
    clearInterval(timer);
    timer = on ? setInterval(poll, TAIL_MS) : null;
    tailing = on;
    toggle.setAttribute("aria-pressed", String(on));
    toggle.textContent = on ? "Stop live tail" : "Live tail";
  };
  toggle.addEventListener("click", () => {
    follow(!tailing);
    if (tailing) poll();
  });
  if (tailing) follow(true);

  // Newer than the newest shown, up to a minute ahead (clocks differ); merged without duplicates.
  async function poll() {
    if (!tailing || ctx.signal.aborted) return;
    const newest = rows.length ? rows[0].ts : ctx.range.from;
    const window = new URLSearchParams(params);
    window.set("from", newest.replace(/(\.\d+)?Z$/, "Z"));
    window.set("to", new Date(Date.now() + 60000).toISOString().replace(/\.\d{3}Z$/, "Z"));
    try {
      const page = await ctx.get("events", window);
      const before = rows.length;
      rows = mergeNewest(rows, page.rows).slice(0, MAX_ROWS);
      if (rows.length !== before) draw();
      document.getElementById("status").textContent = "Live tail: " + new Date().toISOString().slice(11, 19) + " UTC";
    } catch (error) {
      document.getElementById("status").textContent = describe(error);
    }
  }
}

function mergeNewest(shown, fresh) {
  const seen = new Set(shown.map(identity));
  const added = fresh.filter((r) => !seen.has(identity(r)));
  return added.concat(shown).sort((a, b) => (a.ts < b.ts ? 1 : a.ts > b.ts ? -1 : b.sequence - a.sequence));
}
