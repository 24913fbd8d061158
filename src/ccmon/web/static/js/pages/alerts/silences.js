// Silences: label matchers and an expiry that keep matching alerts from being notified (Alertmanager's, without its
// whole surface). Listed for everyone; admins create one (from an instance's labels with "Silence…", or by hand)
// and expire one early.

import { send } from "../../api.js";
import { h } from "../../dom.js";
import { act, confirmButton, form, grid, items, listPanel, note, when } from "../access/common.js";

const DURATIONS = [["1h", 3600], ["4h", 4 * 3600], ["1d", 86400], ["3d", 3 * 86400], ["7d", 7 * 86400]];
const MATCHER = /^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$/;

// "team=payments" lines as matchers (`=`, `!=`, `=~` a regular expression, `!~`); a value may be "quoted".
export function parseMatchers(text) {
  return String(text || "")
    .split("\n")
    .filter((line) => line.trim())
    .map((line) => {
      const match = MATCHER.exec(line);
      if (!match) throw new Error(`"${line.trim()}": expected label=value (or !=, =~, !~)`);
      const value = /^".*"$/.test(match[3]) ? match[3].slice(1, -1) : match[3];
      return { label: match[1], op: match[2], value };
    });
}

export function matchersText(matchers) {
  return (matchers || []).map((m) => `${m.label}${m.op || "="}${m.value}`).join(", ");
}

function status(silence, now = Date.now()) {
  if (Date.parse(silence.ends_at) <= now) return "expired";
  if (silence.starts_at && Date.parse(silence.starts_at) > now) return "pending";
  return "active";
}

// The panel; answers `prefill(instance)`, which fills the form with the instance's labels and brings it into view.
export function render(ctx, layout, { admin, onChange = () => {} }) {
  const line = note("silences");
  let reload = () => {};
  let silenceForm = null;
  if (admin) {
    silenceForm = form(
      "add-silence",
      "Silence alerts",
      [
        h("label", { class: "wide" }, "Matchers (one per line: label=value, label!=value, label=~regex)",
          h("textarea", { name: "matchers", rows: "3", required: true, placeholder: "rule=daily-cost\nteam=payments" })),
        h("label", {}, "For", h("select", { name: "duration" }, DURATIONS.map(([label, s]) => h("option", { value: String(s), selected: s === 4 * 3600 }, label)))),
        h("label", { class: "span2" }, "Comment", h("input", { name: "comment", required: true, placeholder: "why, and who is on it" })),
      ],
      "Create silence",
      async (v) => {
        const matchers = parseMatchers(v.matchers);
        if (!matchers.length) throw new Error("Give at least one matcher.");
        const now = Date.now();
        const body = {
          matchers,
          ends_at: new Date(now + Number(v.duration) * 1000).toISOString().replace(/\.\d+Z$/, "Z"),
          comment: v.comment,
        };
        await send("POST", "alerts/silences", body);
        reload();
        onChange();
        return `Silenced ${matchersText(matchers)} until ${when(body.ends_at)}.`;
      },
    );
    layout.append(silenceForm);
  }
  const columns = [
    { key: "matchers", label: "Matchers", show: (s) => matchersText(s.matchers) },
    { key: "status", label: "Status", show: (s) => status(s) },
    { key: "starts_at", label: "From", show: (s) => when(s.starts_at) },
    { key: "ends_at", label: "Until", show: (s) => when(s.ends_at) },
    { key: "created_by", label: "By" },
    { key: "comment", label: "Comment" },
  ];
  if (admin)
    columns.push({
      key: "actions",
      label: "",
      show: (s) =>
        status(s) === "expired"
          ? ""
          : confirmButton("Expire", "Really expire?", () =>
              act(line, () => send("DELETE", "alerts/silences/" + encodeURIComponent(s.id)), () => "Expired the silence.").then(() => {
                reload();
                onChange();
              }),
            { "data-action": "expire" }),
    });
  reload = listPanel(ctx, layout, "silences", "Silences", () => ctx.get("alerts/silences"), (body, answer) => {
    const rows = items(answer, "silences").slice().sort((a, b) => String(b.ends_at).localeCompare(String(a.ends_at)));
    body.append(line, grid("silences", columns, rows, { rowKey: (s) => s.id, empty: "No silences." }));
  });
  return {
    reload: () => reload(),
    prefill(instance) {
      if (!silenceForm) return;
      // The engine matches silences on the instance's labels plus its `rule` (and `severity`).
      const labels = [["rule", instance.rule_id], ...Object.entries(instance.labels || {}).filter(([k]) => k !== "rule").sort(([a], [b]) => a.localeCompare(b))];
      const lines = labels.map(([k, v]) => `${k}=${/^\s|\s$/.test(v) ? `"${v}"` : v}`);
      silenceForm.elements.matchers.value = lines.join("\n");
      if (!silenceForm.elements.comment.value) silenceForm.elements.comment.value = `Silenced from the Alerts page: ${instance.rule_name || instance.rule_id}`;
      silenceForm.scrollIntoView({ block: "center" });
      silenceForm.elements.comment.focus();
    },
  };
}
