// Ingest tokens: what Claude Code sends to write telemetry. A token may pin the organisation, team, department and
// cost center its data is written with (whatever the client claims), and may be rate limited. The plaintext is
// shown once, at creation and at rotation.

import { send } from "../../api.js";
import { h } from "../../dom.js";
import { act, confirmButton, endOfDay, form, grid, input, items, listPanel, note, secretOnce, when } from "./common.js";

const PINS = ["organization", "team", "department", "cost_center"];
const HINT = 'Claude Code sends it with OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer <token>".';

export function render(ctx) {
  const layout = ctx.section();
  const line = note("ingest-tokens");
  const secret = h("div", { class: "secret-slot" });
  let reload = () => {};
  layout.append(
    form(
      "add-ingest-token",
      "Create an ingest token",
      [
        input("Name", "name", { required: true, placeholder: "team-platform" }),
        input("Pin organization", "organization"),
        input("Pin team", "team"),
        input("Pin department", "department"),
        input("Pin cost center", "cost_center"),
        input("Rate limit (requests/s, empty: none)", "rate_limit_per_s", { type: "number", min: "0", step: "any" }),
        input("Expires (UTC, end of day)", "expires", { type: "date" }),
      ],
      "Create token",
      async (v) => {
        const body = { name: v.name };
        for (const pin of PINS) body[pin] = v[pin] ?? "";
        if (v.rate_limit_per_s) body.rate_limit_per_s = Number(v.rate_limit_per_s);
        if (v.expires) body.expires_at = endOfDay(v.expires);
        const created = await send("POST", "ingest-tokens", body);
        secretOnce(secret, "ingest-token", `Ingest token "${v.name}":`, created.token, HINT);
        reload();
        return `Created the token ${v.name}.`;
      },
    ),
  );
  layout.append(h("div", { class: "wide" }, secret));
  const rotate = (t) =>
    act(line, () => send("POST", `ingest-tokens/${encodeURIComponent(t.id)}/rotate`), (rotated) => {
      secretOnce(secret, "ingest-token", `New ingest token for "${t.name}":`, rotated.token,
        "The old token no longer works. " + HINT);
      return `Rotated the token ${t.name}.`;
    }).then(() => reload());
  const columns = [
    { key: "name", label: "Name" },
    { key: "id", label: "Id" },
    {
      key: "pins",
      label: "Pins",
      show: (t) => PINS.filter((p) => t[p]).map((p) => `${p.replace("_", " ")}=${t[p]}`).join(", ") || "none",
    },
    { key: "rate_limit_per_s", label: "Rate limit", num: true, show: (t) => (t.rate_limit_per_s ? `${t.rate_limit_per_s}/s` : "none") },
    { key: "last_seen", label: "Last seen", show: (t) => when(t.last_seen, "never") },
    { key: "created_at", label: "Created", show: (t) => when(t.created_at) },
    { key: "expires_at", label: "Expires", show: (t) => when(t.expires_at, "never") },
    { key: "revoked", label: "Status", show: (t) => (t.revoked ? "revoked" : "active") },
    {
      key: "actions",
      label: "",
      show: (t) =>
        t.revoked
          ? ""
          : h(
              "span",
              { class: "row-actions" },
              confirmButton("Rotate", "Really rotate?", () => rotate(t), { "data-action": "rotate", class: "" }),
              confirmButton("Revoke", "Really revoke?", () =>
                act(line, () => send("DELETE", "ingest-tokens/" + encodeURIComponent(t.id)), () => `Revoked the token ${t.name}.`)
                  .then(() => reload()), { "data-action": "revoke" }),
            ),
    },
  ];
  reload = listPanel(ctx, layout, "ingest-tokens", "Ingest tokens", () => ctx.get("ingest-tokens"), (body, answer) => {
    body.append(line, grid("ingest-tokens", columns, items(answer, "tokens"), { rowKey: (t) => t.id, empty: "No ingest tokens yet." }));
  });
}
