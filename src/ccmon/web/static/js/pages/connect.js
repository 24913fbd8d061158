// The Connect page: how to point Claude Code at this server (the variables, or a settings file as `ccmon setup` writes
// it: ./connect/setup.js), and whether anything has arrived yet.

import { h } from "../dom.js";
import { plural } from "../format.js";
import { UNKNOWN } from "../state.js";
import { renderSetup } from "./connect/setup.js";

export const name = "connect";
export const title = "Connect";

function snippet(info) {
  const named = info.otlp_host || location.hostname;
  const host = named.includes(":") && !named.startsWith("[") ? `[${named}]` : named; // an IPv6 address
  const lines = [
    "export CLAUDE_CODE_ENABLE_TELEMETRY=1",
    "export OTEL_METRICS_EXPORTER=otlp",
    "export OTEL_LOGS_EXPORTER=otlp",
    "export OTEL_EXPORTER_OTLP_PROTOCOL=grpc",
    `export OTEL_EXPORTER_OTLP_ENDPOINT=http://${host}:${info.otlp_grpc_port}`,
  ];
  if (info.ingest_token_required) lines.push('export OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer <your ingest token>"');
  lines.push(
    "# who is who, for the per-team and per-project views (optional)",
    "export OTEL_RESOURCE_ATTRIBUTES=team=platform,department=engineering,cost_center=ENG-001,project=checkout",
    "# the repository of each session, as a project when none is set (optional)",
    "export OTEL_METRICS_INCLUDE_REPOSITORY=1",
    "# beta: traces, for the span waterfall on session pages (optional)",
    "export CLAUDE_CODE_ENHANCED_TELEMETRY_BETA=1 OTEL_TRACES_EXPORTER=otlp",
  );
  return { host, text: lines.join("\n") };
}

export async function render(ctx) {
  ctx.heading("Connect Claude Code", "Claude Code exports OpenTelemetry when asked to. Set these in the shell (or in managed settings) before starting claude.");
  const info = (await ctx.info) || (await ctx.get("server"));
  const { host, text } = snippet(info);
  const pre = h("pre", { id: "env-snippet", tabindex: "0" }, text);
  const copy = h("button", { type: "button", class: "copy" }, "Copy");
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(text);
      copy.textContent = "Copied";
    } catch {
      window.getSelection().selectAllChildren(pre);
      copy.textContent = "Selected: press Ctrl+C";
    }
  });
  const status = h("p", { id: "connect-status", role: "status" }, "Checking for telemetry…");
  ctx.target.append(h("section", { class: "card" }, h("h2", {}, "1. Environment"), pre, copy));
  await renderSetup(ctx, ctx.target, info);
  ctx.target.append(
    h(
      "section",
      { class: "card" },
      h("h2", {}, "3. Endpoints"),
      h(
        "dl",
        { class: "endpoints" },
        h("dt", {}, "OTLP/gRPC"),
        h("dd", {}, h("code", {}, `http://${host}:${info.otlp_grpc_port}`), " (OTEL_EXPORTER_OTLP_PROTOCOL=grpc)"),
        h("dt", {}, "OTLP/HTTP"),
        h("dd", {}, h("code", {}, `http://${host}:${info.otlp_http_port}`), " (http/protobuf or http/json; paths /v1/logs, /v1/metrics, /v1/traces)"),
        h("dt", {}, "Ingest token"),
        h("dd", {}, info.ingest_token_required ? "required: send it as OTEL_EXPORTER_OTLP_HEADERS" : "not required (this server listens on loopback only)"),
        h("dt", {}, "Export interval"),
        h("dd", {}, "metrics every 60 s by default (OTEL_METRIC_EXPORT_INTERVAL, in ms); events every 5 s (OTEL_LOGS_EXPORT_INTERVAL)"),
      ),
    ),
    h("section", { class: "card" }, h("h2", {}, "4. Check"), status),
  );
  await check(ctx, info, status);
}

const DAY_MS = 86400000;

function stamp(ms) {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

// Whether telemetry is arriving, telling the demo organisation's people (made up by `ccmon serve --demo` or
// `ccmon demo`) from real ones: the people of the last 24 hours (the leaderboard, as many as it gives at once) split
// by email domain, and the API requests of the real ones.
async function check(ctx, info, status) {
  const window = { from: stamp(Date.now() - DAY_MS), to: stamp(Date.now() + 60000) };
  const domain = "@" + info.demo_domain; // `ccmon demo`'s people
  const board = await ctx.get("people/leaderboard", new URLSearchParams({ ...window, group: "person", limit: "1000" }));
  const demo = board.rows.filter((r) => r.key.endsWith(domain));
  const real = board.rows.filter((r) => !r.key.endsWith(domain));
  const people = real.filter((r) => r.key !== UNKNOWN).length;
  const lines = [];
  if (demo.length) {
    lines.push(
      h(
        "p",
        { id: "connect-demo", "data-people": String(demo.length) },
        h("strong", {}, "Demo data: "),
        `${plural(demo.length, "person", "people")} of the demo organisation (${domain}) in the last 24 hours, loaded by `,
        h("code", {}, "ccmon serve --demo"),
        " or ",
        h("code", {}, "ccmon demo"),
        ". They are made up: not Claude Code's telemetry.",
      ),
    );
  }
  let text;
  if (real.length) {
    // The API requests of everyone who is not the demo's (the `(unknown)` row: data sent without a person).
    const params = new URLSearchParams(window);
    for (const r of real) params.append("person", r.key);
    const summary = real.length <= 200 ? await ctx.get("summary", params) : null;
    const requests = summary ? `${plural(summary.api_requests, "API request")} from ` : "";
    const who = people ? plural(people, "person", "people") : "data without a person";
    const also = people && people < real.length ? " and data without a person" : "";
    text = `Telemetry from Claude Code is arriving: ${requests}${who}${also} in the last 24 hours.`;
  } else if (demo.length)
    text = "Nothing from Claude Code yet: only demo data in the last 24 hours. Start claude with the settings above and run a prompt; this page refreshes every 30 s.";
  else if (info.has_data) text = "Nothing in the last 24 hours (telemetry that arrived earlier is stored). Start claude with the settings above and run a prompt.";
  else text = "Nothing has arrived yet. Start claude with the settings above and run a prompt; this page refreshes every 30 s.";
  status.dataset.real = String(real.length > 0);
  status.textContent = text;
  status.before(...lines);
}
