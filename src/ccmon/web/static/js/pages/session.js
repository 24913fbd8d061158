// One session: its timeline (prompt → API requests → tool decisions → tool results, with cost and tokens per step)
// and, when Claude Code sent traces, the span waterfall.

import { waterfall } from "../charts.js";
import { h } from "../dom.js";
import { count, ms, seconds, usd } from "../format.js";
import { href } from "../state.js";

export const name = "session";
export const title = "Session";
export const autoRefresh = false; // a refresh would close the attributes being read

// What each kind of step says in one line; everything else is under "attributes".
function summary(event) {
  switch (event.name) {
    case "user_prompt":
      return null;
    case "api_request":
      return `${event.model} · ${usd(event.cost_usd)} · ${count(event.tokens)} tokens · ${ms(event.duration_ms)}`;
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
    event.name === "user_prompt" ? h("span", { class: "prompt-text" }, event.attributes.prompt ?? "(prompt not logged)") : null,
    line ? h("span", { class: "step-detail" }, line) : null,
    attributes.length
      ? h(
          "details",
          {},
          h("summary", {}, "attributes"),
          h("dl", {}, attributes.flatMap(([key, value]) => [h("dt", {}, key), h("dd", {}, value)])),
        )
      : null,
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
    ctx.target.querySelector("p.subtitle")?.remove();
    ctx.target.querySelector("h1").after(
      h(
        "p",
        { class: "subtitle" },
        d.person ? h("a", { href: href("/people/" + encodeURIComponent(d.person)) }, d.person) : "unknown person",
        ` · ${d.prompts.length} prompts · ${events.length} events · ${usd(cost)} · ${count(tokens)} tokens`,
      ),
    );
    if (events.length === 0) {
      timeline.body.replaceChildren(h("p", { class: "empty" }, "No events of this session are visible with these filters."));
      return;
    }
    timeline.body.replaceChildren(
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
              ` ${seconds(p.started)} · ${usd(p.cost_usd)} · ${count(p.tokens)} tokens · ${p.api_requests} requests · ${p.tool_calls} tool calls`,
            ),
            h("ol", { class: "steps" }, p.events.map(step)),
          ),
        ),
      ),
    );
  });
  ctx.pending.push(
    detail.then((d) => {
      if (d.spans.length === 0) return; // no traces: Claude Code's tracing is opt-in (beta)
      const spans = ctx.panel(grid, "waterfall", "Spans (traces)", { wide: true });
      waterfall(spans.figure, spans.body, d.spans, { format: ms });
    }),
  );
}
