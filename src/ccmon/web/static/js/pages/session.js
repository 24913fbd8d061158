// One session: its timeline (prompt → API requests → tool decisions → tool results, with cost and tokens per step)
// and, when Claude Code sent traces, the span waterfall.

import { waterfall } from "../charts.js";
import { costCheckTable } from "../costcheck.js";
import { h } from "../dom.js";
import { ms, plural, seconds, usd } from "../format.js";
import { href } from "../state.js";

export const name = "session";
export const title = "Session";
export const autoRefresh = false; // a refresh would close the attributes being read

// Claude Code leaves text out unless asked to send it: the literal "<REDACTED>" (or no attribute) and the setting
// that would have sent it (docs: Claude Code's telemetry, OTEL_LOG_*).
export const REDACTED = "<REDACTED>";
export const PROMPT_HINT = "Claude Code sends prompt text only when OTEL_LOG_USER_PROMPTS=1 is set";
export const TOOL_HINT = "Claude Code sends tool parameters (commands, file paths) only when OTEL_LOG_TOOL_DETAILS=1 is set";
const RESPONSE_HINT =
  "Claude Code sends response text only when OTEL_LOG_ASSISTANT_RESPONSES=1 is set (unset, it follows OTEL_LOG_USER_PROMPTS)";
const ATTRIBUTE_HINTS = { prompt: PROMPT_HINT, response: RESPONSE_HINT, tool_parameters: TOOL_HINT, tool_input: TOOL_HINT };

export function redacted(text) {
  return text === undefined || text === null || text === REDACTED;
}

function promptText(event) {
  const text = event.attributes.prompt;
  if (!redacted(text)) return h("span", { class: "prompt-text" }, text);
  return h(
    "span",
    { class: "prompt-text redacted" },
    text ?? "(prompt not logged)",
    h("span", { class: "redacted-hint" }, ` — ${PROMPT_HINT}.`),
  );
}

// What each kind of step says in one line; everything else is under "attributes".
function summary(event) {
  switch (event.name) {
    case "user_prompt":
      return null;
    case "api_request":
      return `${event.model} · ${usd(event.cost_usd)} · ${plural(event.tokens, "token")} · ${ms(event.duration_ms)}`;
    case "api_error":
      return `${event.model} · ${event.status_code ?? "no status"} · ${event.error}`;
    case "tool_decision":
      return `${event.tool_name} · ${event.decision}` + (event.attributes.source ? ` (${event.attributes.source})` : "");
    case "tool_result":
      return `${event.tool_name} · ${event.success ? "succeeded" : "failed"} · ${ms(event.duration_ms)}` + (event.error ? ` · ${event.error}` : "");
    default:
      return [event.tool_name, event.model, event.error].filter(Boolean).join(" · ") || null;
  }
}

function step(event) {
  const line = summary(event);
  const attributes = Object.entries(event.attributes).filter(([key]) => !key.startsWith("event."));
  return h(
    "li",
    { class: "step " + event.name, "data-event": event.name, "data-sequence": event.sequence },
    h("time", { datetime: event.ts }, event.ts.slice(11, 23)),
    h("span", { class: "event-name" }, event.name.replaceAll("_", " ")),
    event.name === "user_prompt" ? promptText(event) : null,
    line ? h("span", { class: "step-detail" }, line) : null,
    attributes.length
      ? h(
          "details",
          {},
          h("summary", {}, "attributes"),
          h(
            "dl",
            {},
            attributes.flatMap(([key, value]) => [
              h("dt", {}, key),
              h("dd", { title: value === REDACTED ? ATTRIBUTE_HINTS[key] || "left out by Claude Code's settings" : null }, value),
            ]),
          ),
        )
      : null,
  );
}

// The session's cost recomputed at list price, next to the reported one in the subtitle; unknown models say so.
function listPrice(check) {
  if (!check) return "";
  const unknown = check.unknown_models.length;
  const flagged = unknown || check.rows.some((r) => r.flagged);
  return h(
    "span",
    { id: "list-price", class: flagged ? "flagged" : null, "data-value": String(check.recomputed_cost_usd) },
    ` (list price ${usd(check.recomputed_cost_usd)}` +
      (unknown ? `, ${plural(unknown, "model")} without a price` : "") +
      ")",
  );
}

export async function render(ctx, sessionId) {
  ctx.target.append(h("a", { href: href("/sessions"), class: "back" }, "← Sessions"));
  ctx.heading("Session " + sessionId);
  const grid = ctx.section();
  const timeline = ctx.panel(grid, "timeline", "Timeline", { chart: false, wide: true });
  // A session is shown whole: the filters apply, the window does not.
  const detail = ctx.get("sessions/" + encodeURIComponent(sessionId), ctx.withFilters());
  ctx.fill(timeline, detail, (d) => {
    const events = d.prompts.flatMap((p) => p.events);
    const cost = d.prompts.reduce((t, p) => t + p.cost_usd, 0);
    const tokens = d.prompts.reduce((t, p) => t + p.tokens, 0);
    const prompts = d.prompts.filter((p) => p.prompt_id).length;
    ctx.target.querySelector("p.subtitle")?.remove();
    ctx.target.querySelector("h1").after(
      h(
        "p",
        { class: "subtitle" },
        d.person ? h("a", { href: href("/people/" + encodeURIComponent(d.person)) }, d.person) : "unknown person",
        ` · ${plural(prompts, "prompt")} · ${plural(events.length, "event")} · ${usd(cost)} · ${plural(tokens, "token")}`,
        listPrice(d.cost_check),
      ),
    );
    if (events.length === 0) {
      const filtered = [...ctx.withFilters().keys()].length > 0;
      timeline.body.replaceChildren(
        h(
          "p",
          { class: "empty", id: "no-prompts" },
          filtered
            ? "No events of this session are visible with these filters."
            : "No events arrived for this session, only metrics (its cost and tokens): Claude Code sends prompts, " +
                "API requests and tool calls as events, only when OTEL_LOGS_EXPORTER=otlp is set.",
        ),
      );
      return;
    }
    // Why text is missing, once for the session: prompts and tool parameters are sent only when asked for.
    const notes = [];
    const promptEvents = events.filter((e) => e.name === "user_prompt");
    if (promptEvents.length === 0)
      notes.push(
        "No prompt arrived for this session (no claude_code.user_prompt event), so its steps are shown outside any " +
          "prompt. Claude Code sends a prompt event for every prompt typed; versions before 2.1.161 dropped a " +
          "session's first events, and an exporter that stopped early (or is still sending) leaves them out.",
      );
    else if (promptEvents.some((e) => redacted(e.attributes.prompt)))
      notes.push(`Prompts show ${REDACTED}: ${PROMPT_HINT}.`);
    const toolEvents = events.filter((e) => e.name === "tool_result");
    if (toolEvents.length && !toolEvents.some((e) => e.attributes.tool_parameters && e.attributes.tool_parameters !== REDACTED))
      notes.push(`No tool parameters: ${TOOL_HINT}.`);
    timeline.body.replaceChildren(
      notes.length ? h("div", { class: "telemetry-notes", id: "telemetry-notes" }, notes.map((n) => h("p", { class: "hint" }, n))) : "",
      h(
        "ol",
        { id: "timeline" },
        d.prompts.map((p) =>
          h(
            "li",
            { class: "prompt", "data-prompt": p.prompt_id },
            h(
              "div",
              { class: "prompt-head" },
              h("strong", {}, p.prompt_id ? "Prompt" : "Outside any prompt"),
              ` ${seconds(p.started)} · ${usd(p.cost_usd)} · ${plural(p.tokens, "token")} · ${plural(p.api_requests, "request")} · ${plural(p.tool_calls, "tool call")}`,
            ),
            h("ol", { class: "steps" }, p.events.map(step)),
          ),
        ),
      ),
    );
  });
  ctx.pending.push(
    detail.then((d) => {
      if (!d.cost_check || d.cost_check.rows.length + d.cost_check.unknown_models.length === 0) return;
      const check = ctx.panel(grid, "session-cost-check", "Reported vs. list price", { chart: false, wide: true });
      const path = "sessions/" + encodeURIComponent(sessionId);
      const csv = { path, params: ctx.withFilters(), filename: `session-cost-check.csv`, checkOf: (s) => s.cost_check };
      check.body.replaceChildren(costCheckTable("session-cost-check", d.cost_check, csv));
    }),
  );
  ctx.pending.push(
    detail.then((d) => {
      if (d.spans.length === 0) return; // no traces: Claude Code's tracing is opt-in (beta)
      const spans = ctx.panel(grid, "waterfall", "Spans (traces)", { wide: true });
      waterfall(spans.figure, spans.body, d.spans, { format: ms });
    }),
  );
}
