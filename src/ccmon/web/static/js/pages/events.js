// The events explorer: events newest first, filtered by name and error text, paged by cursor, with a live tail
// that polls for newer events and puts them on top.

import { h } from "../dom.js";
import { count, seconds, usd, ms } from "../format.js";
import { current, href, update } from "../state.js";
import { table } from "../table.js";
import { describe } from "../page.js";
import { PROMPT_HINT, REDACTED, redacted } from "./session.js";

export const name = "events";
export const title = "Events";

const TAIL_MS = 3000;
const LIMIT = 100;
const MAX_ROWS = 2000; // a tail left running keeps the newest this many
const TAIL_OVERLAP_MS = 120000;
const TAIL_MAX_PAGES = 10;
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
  { key: "ts", label: "Time (UTC)", format: seconds, keep: true },
  { key: "name", label: "Event", keep: true },
  { key: "session_id", label: "Session", link: (r) => href("/sessions/" + encodeURIComponent(r.session_id)), format: (v) => v.slice(0, 8), keep: true },
  { key: "person", label: "Person", keep: true },
  // A user_prompt's text (an attribute, not a column of the API's rows).
  { key: "prompt", label: "Prompt", format: (v) => (v === null ? "" : v) },
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
  // Columns blank in every row shown are left out (they would take the room of the person's email), and prompts
  // that arrived as <REDACTED> say why.
  const draw = () => {
    const shown = rows.map((r) => ({ ...r, prompt: r.name === "user_prompt" ? (r.attributes?.prompt ?? REDACTED) : null }));
    const hidden = shown.some((r) => r.name === "user_prompt" && redacted(r.attributes?.prompt));
    list.body.replaceChildren(
      hidden ? h("p", { class: "hint", id: "prompt-hint" }, `Prompts show ${REDACTED}: ${PROMPT_HINT}.`) : "",
      table("events", COLUMNS, shown, { csv: { path: "events", params, filename: "events.csv" }, empty: "No events in this range", hideEmpty: true }),
      cursor ? more : "",
    );
  };
  more.addEventListener("click", async () => {
    const older = new URLSearchParams(params); // a copy that keeps repeated filters (team=a&team=b)
    older.set("cursor", cursor);
    more.disabled = true;
    try {
      const page = await ctx.get("events", older);
      rows = mergeNewest(rows, page.rows);
      cursor = page.next_cursor;
      draw();
    } catch (error) {
      if (error.name !== "AbortError") document.getElementById("status").textContent = describe(error);
    } finally {
      more.disabled = false;
    }
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

  // From a little before the newest shown (exporters send in batches, so an older event can arrive after a newer
  // one) to a minute ahead (clocks differ), every page of it; merged without duplicates. One poll at a time.
  let polling = false;
  async function poll() {
    if (!tailing || polling || ctx.signal.aborted || document.visibilityState !== "visible") return;
    polling = true;
    const newest = rows.length ? Date.parse(rows[0].ts) : Date.parse(ctx.range.from);
    const window = new URLSearchParams(params);
    window.set("from", stamp(Math.max(newest - TAIL_OVERLAP_MS, Date.parse(ctx.range.from))));
    window.set("to", stamp(Date.now() + 60000));
    try {
      const before = rows.length;
      for (let pages = 0; pages < TAIL_MAX_PAGES; pages++) {
        const page = await ctx.get("events", window);
        rows = mergeNewest(rows, page.rows).slice(0, MAX_ROWS);
        if (!page.next_cursor) break;
        window.set("cursor", page.next_cursor);
      }
      if (rows.length !== before) draw();
      document.getElementById("status").textContent = "Live tail: " + new Date().toISOString().slice(11, 19) + " UTC";
    } catch (error) {
      if (error.name !== "AbortError") document.getElementById("status").textContent = describe(error);
    } finally {
      polling = false;
    }
  }
}

function stamp(ms) {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

// Newest first by time (parsed: the API leaves out a zero fraction), then by sequence.
function mergeNewest(shown, fresh) {
  const seen = new Set(shown.map(identity));
  const added = fresh.filter((r) => !seen.has(identity(r)));
  return added.concat(shown).sort((a, b) => Date.parse(b.ts) - Date.parse(a.ts) || b.sequence - a.sequence);
}
