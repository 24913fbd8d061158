// The directory: the people of the organisation (email, name, team, department, cost center, manager) and the rules
// that infer a team from an email. Loaded from a CSV, YAML or JSON file; "apply to stored data" re-attributes the
// telemetry already stored, after a dry run that says what would change.

import { describe, send } from "../../api.js";
import { clear, h } from "../../dom.js";
import { grid, items, listPanel, note, say, view } from "./common.js";

const PEOPLE = ["email", "name", "team", "department", "cost_center", "manager"];

// The request body and content type of a directory file, from its name (or, pasted, from its first character).
function upload(text, filename) {
  const name = filename.toLowerCase();
  const trimmed = text.trimStart();
  if (name.endsWith(".json") || (!name && (trimmed.startsWith("{") || trimmed.startsWith("[")))) {
    const parsed = JSON.parse(text);
    return { body: Array.isArray(parsed) ? { people: parsed } : parsed, contentType: null };
  }
  if (name.endsWith(".yaml") || name.endsWith(".yml")) return { body: text, contentType: "application/yaml" };
  if (name.endsWith(".csv") || (!name && /^[^\n:]*,/.test(trimmed))) return { body: text, contentType: "text/csv" };
  return { body: text, contentType: "application/yaml" };
}

// What a load changed, in a sentence: "Loaded the directory: 3 added, 1 updated, 0 removed, 12 unchanged."
function loaded(answer) {
  const n = (v) => (Array.isArray(v) ? v.length : Number(v) || 0);
  if (!answer || !("added" in answer)) return "Loaded the directory.";
  const rules = Array.isArray(answer.rules) ? `, ${answer.rules.length} rules` : "";
  return `Loaded the directory: ${n(answer.added)} added, ${n(answer.updated)} updated, ${n(answer.removed)} removed, ${n(answer.unchanged)} unchanged${rules}.`;
}

function uploadForm(reload) {
  const line = note("directory-upload");
  const file = h("input", { type: "file", name: "file", accept: ".csv,.yaml,.yml,.json,text/csv,application/yaml,application/json" });
  const pasted = h("textarea", { name: "text", rows: "5", placeholder: "email,name,team,department,cost_center,manager\nada@example.com,Ada,platform,engineering,ENG-001," });
  const button = h("button", { type: "submit" }, "Load directory");
  const el = h(
    "form",
    { class: "panel access-form", "data-form": "directory-upload" },
    h("h2", {}, "Load people"),
    h("p", { class: "hint" }, "A CSV (a header of email,name,team,department,cost_center,manager), a YAML file or JSON. It replaces the people listed now."),
    h("div", { class: "fields" }, h("label", {}, "File ", file), h("label", { class: "wide" }, "or paste it ", pasted)),
    h("div", { class: "form-actions" }, button),
    line,
  );
  el.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    try {
      const chosen = file.files[0];
      const text = chosen ? await chosen.text() : pasted.value;
      if (!text.trim()) throw new Error("Choose a file or paste the people first.");
      const { body, contentType } = upload(text, chosen ? chosen.name : "");
      const answer = await send("PUT", "directory", body, { contentType });
      say(line, loaded(answer));
      el.reset();
      reload();
    } catch (error) {
      say(line, describe(error), true);
    } finally {
      button.disabled = false;
    }
  });
  return el;
}

// A re-attribution's answer: a sentence of how many rows of which tables, then who moves from what to what.
function attributed(answer, dryRun) {
  if (!answer || !answer.tables) return view(answer, dryRun ? "preview" : "applied");
  const tables = Object.entries(answer.tables).map(([t, n]) => `${t} ${n}`).join(", ");
  const people = answer.people || [];
  const days = answer.days || [];
  const attrs = (o) => Object.entries(o || {}).map(([k, v]) => `${k.replace("_", " ")}=${v || "—"}`).join(", ");
  return h(
    "div",
    {},
    h(
      "p",
      { "data-rows": String(answer.rows ?? "") },
      `${dryRun ? "Would change" : "Changed"} ${answer.rows} rows (${tables || "none"}) of ${people.length} people over ${days.length} days.`,
    ),
    people.length
      ? grid(
          dryRun ? "preview-people" : "applied-people",
          [
            { key: "email", label: "Email", show: (p) => p.email || p.person },
            { key: "old", label: "Was", show: (p) => attrs(p.old) },
            { key: "new", label: "Becomes", show: (p) => attrs(p.new) },
          ],
          people,
          { rowKey: (p) => p.email || p.person },
        )
      : null,
  );
}

// "Preview changes" (a dry run) first; "Apply to stored data" only after a preview.
function applyPanel() {
  const line = note("directory-apply");
  const result = h("div", { class: "apply-result", "data-apply-result": "" });
  const preview = h("button", { type: "button", "data-action": "preview" }, "Preview changes");
  const apply = h("button", { type: "button", "data-action": "apply", disabled: true }, "Apply to stored data");
  const run = async (dryRun) => {
    preview.disabled = apply.disabled = true;
    try {
      const answer = await send("POST", "directory/apply", undefined, { params: { dry_run: String(dryRun) } });
      clear(result).append(h("h3", {}, dryRun ? "Would change (dry run):" : "Changed:"), attributed(answer, dryRun));
      result.dataset.applyResult = dryRun ? "preview" : "applied";
      say(line, dryRun ? "Nothing was changed yet: apply to make these changes." : "Applied the directory to the stored data.");
      apply.disabled = !dryRun;
    } catch (error) {
      say(line, describe(error), true);
    } finally {
      preview.disabled = false;
    }
  };
  preview.addEventListener("click", () => run(true));
  apply.addEventListener("click", () => run(false));
  return h(
    "section",
    { class: "panel access-form", "data-form": "directory-apply" },
    h("h2", {}, "Apply to stored data"),
    h("p", { class: "hint" }, "New telemetry is attributed by the directory as it arrives. Data stored before can be re-attributed: preview what would change, then apply."),
    h("div", { class: "form-actions" }, preview, apply),
    line,
    result,
  );
}

export function render(ctx) {
  const layout = ctx.section();
  let reload = () => {};
  layout.append(uploadForm(() => reload()), applyPanel());
  reload = listPanel(ctx, layout, "directory", "People and rules", () => ctx.get("directory"), (body, answer) => {
    const people = items(answer, "people");
    const rules = Array.isArray(answer?.rules) ? answer.rules : [];
    const columns = PEOPLE.map((key) => ({ key, label: key.replace("_", " ") }));
    body.append(
      h("h3", {}, `People (${people.length})`),
      grid("directory-people", columns, people, { rowKey: (p) => p.email, empty: "No directory loaded." }),
      h("h3", {}, `Rules (${rules.length})`),
      rules.length ? view(rules, "directory-rules") : h("p", { class: "empty" }, "No rules."),
    );
  });
}
