// The Connect page's setup form: the choices `ccmon setup` offers (GET /api/v1/setup/options), a live preview of the
// file they make, the file itself as a download, and the `ccmon setup` command line that writes the same file.
//
// The server renders every file with the code `ccmon setup` runs (GET /api/v1/setup/file), so the page never builds a
// settings file itself: what is previewed, downloaded and written by the command is the same text, checked the same
// way (a 422 says what is wrong with a value, and is shown next to the preview).

import { describe, get, url } from "../../api.js";
import { clear, h } from "../../dom.js";

const DEBOUNCE_MS = 250;
const TOKEN_KEY = "ccmon.apiToken"; // api.js keeps a bearer token for the tab here (servers with API tokens only)

const TEXT_FIELDS = ["endpoint", "token", "headers_helper", "team", "department", "cost_center", "resource_attributes",
  "metrics_interval_ms", "logs_interval_ms", "ccmon_url", "ccmon_command"];
const CONTENT_FLAGS = [
  ["log_user_prompts", "Prompt text (OTEL_LOG_USER_PROMPTS)"],
  ["log_assistant_responses", "Assistant responses (OTEL_LOG_ASSISTANT_RESPONSES)"],
  ["log_tool_details", "Tool parameters and inputs (OTEL_LOG_TOOL_DETAILS)"],
];
const CLIENT_FLAGS = [
  ["budget_hook", "Budget hook: warn or block a prompt past the person's budget (UserPromptSubmit)"],
  ["policy_hook", "Policy hook: the model and tool policy before each tool call (PreToolUse)"],
  ["statusline", "Status line: today's and this month's spend, and the 5 h / 7 d limits"],
];

// The form's values, kept across the page's 30 s refreshes (which draw the page again).
let saved = null;

// The setup card, appended to `parent`; its first preview is one of the page's pending requests.
export async function renderSetup(ctx, parent, info) {
  const card = h("section", { class: "card setup", id: "setup", "aria-labelledby": "setup-heading" });
  parent.append(card);
  card.append(
    h("h2", { id: "setup-heading" }, "2. Settings file (same as ccmon setup)"),
    h(
      "p",
      { class: "hint" },
      "Choose where the settings go and what they turn on: the preview below is the file ",
      h("code", {}, "ccmon setup"),
      " writes for the same choices. Claude Code ignores telemetry settings in a project's .claude/settings.json: use user or managed settings.",
    ),
  );
  let choices;
  try {
    choices = await ctx.get("setup/options");
  } catch (error) {
    if (error.name === "AbortError") throw error;
    card.append(h("p", { class: "error", role: "alert", id: "setup-error" }, describe(error)));
    return;
  }
  const form = new SetupForm(choices, info, ctx.signal);
  card.append(form.element, form.output);
  ctx.pending.push(form.preview());
}

class SetupForm {
  constructor(choices, info, pageSignal) {
    this.choices = choices;
    this.targets = new Map(choices.targets.map((t) => [t.name, t]));
    this.protocols = new Map(choices.protocols.map((p) => [p.name, p]));
    this.pageSignal = pageSignal;
    this.timer = null;
    this.controller = null;
    this.sequence = 0;
    this.last = null; // {key, answer}: the preview on screen and the query it answers
    if (!saved) saved = { ...choices.defaults };
    this.fields = {};
    this.element = this.build(info);
    this.output = this.buildOutput();
    this.sync();
    pageSignal.addEventListener("abort", () => this.controller?.abort());
  }

  // -- the form --------------------------------------------------------------------------------------------------

  select(name, label, options) {
    const el = h("select", { name, id: "setup-" + name.replaceAll("_", "-") },
      options.map((o) => h("option", { value: o.name }, o.label)));
    el.value = saved[name] ?? options[0].name;
    this.fields[name] = el;
    return h("label", {}, label, el);
  }

  text(name, label, attrs = {}) {
    const el = h("input", { name, id: "setup-" + name.replaceAll("_", "-"), autocomplete: "off", spellcheck: "false", ...attrs });
    el.value = saved[name] ?? "";
    this.fields[name] = el;
    return h("label", {}, label, el);
  }

  check(name, label) {
    const el = h("input", { type: "checkbox", name, id: "setup-" + name.replaceAll("_", "-") });
    el.checked = saved[name] === "1";
    this.fields[name] = el;
    return h("label", { class: "check" }, el, label);
  }

  build(info) {
    const tokenNote = h("p", { class: "hint", id: "setup-token-note" });
    const helperNote = h("p", { class: "hint", id: "setup-helper-note" },
      "gRPC cannot use otelHeadersHelper: Claude Code runs the helper for http/protobuf and http/json only. With gRPC, send a static token.");
    this.helperNote = helperNote;
    tokenNote.textContent = info.ingest_token_required
      ? "This server asks for an ingest token: paste one (Access → Ingest tokens), or use a headers helper over HTTP."
      : "This server takes telemetry without a token (it listens on loopback only); a token is needed once it does not.";
    const interval = { type: "number", min: "100", max: "3600000", step: "1", inputmode: "numeric" };
    this.osLabel = this.select("os", "Operating system", this.choices.os);
    const form = h(
      "form",
      { class: "access-form setup-form", id: "setup-form", "aria-label": "Setup choices", novalidate: true },
      h(
        "div",
        { class: "fields" },
        this.select("target", "Target", this.choices.targets),
        this.osLabel,
        this.select("protocol", "Protocol", this.choices.protocols),
        this.text("endpoint", "OTLP endpoint", { type: "url", class: "wide-input" }),
      ),
      h(
        "fieldset",
        { class: "setup-group" },
        h("legend", {}, "Ingest token"),
        h("div", { class: "fields" },
          this.text("token", "Static token (OTEL_EXPORTER_OTLP_HEADERS)", { placeholder: "ccmi_…" }),
          this.text("headers_helper", "Headers helper script (otelHeadersHelper)", { placeholder: "/usr/local/bin/ccmon-token" })),
        tokenNote,
        helperNote,
      ),
      h(
        "fieldset",
        { class: "setup-group" },
        h("legend", {}, "Who is who (OTEL_RESOURCE_ATTRIBUTES)"),
        h("div", { class: "fields" },
          this.text("team", "Team", { placeholder: "platform" }),
          this.text("department", "Department", { placeholder: "engineering" }),
          this.text("cost_center", "Cost center", { placeholder: "ENG-001" }),
          this.text("resource_attributes", "Other attributes (key=value, comma-separated)", { placeholder: "project=checkout" })),
      ),
      h(
        "fieldset",
        { class: "setup-group" },
        h("legend", {}, "Export intervals (milliseconds; empty: Claude Code's defaults)"),
        h("div", { class: "fields" },
          this.text("metrics_interval_ms", "Metrics (default 60000)", interval),
          this.text("logs_interval_ms", "Events (default 5000)", interval)),
      ),
      h(
        "fieldset",
        { class: "setup-group" },
        h("legend", {}, "Content capture (off by default)"),
        h("p", { class: "hint", id: "setup-privacy-note" },
          "Privacy: prompts, responses and tool inputs can hold source code, secrets and personal data. Turn these on only with your organisation's agreement; ccmon shows content only to roles allowed to read it."),
        h("div", { class: "checks" }, CONTENT_FLAGS.map(([name, label]) => this.check(name, label)),
          this.check("traces", "Traces, for the span waterfall (beta: CLAUDE_CODE_ENHANCED_TELEMETRY_BETA)")),
      ),
      h(
        "fieldset",
        { class: "setup-group", id: "setup-client" },
        h("legend", {}, "On the developer's machine (ccmon must be installed there)"),
        h("div", { class: "checks" }, CLIENT_FLAGS.map(([name, label]) => this.check(name, label))),
        h("div", { class: "fields" },
          this.text("ccmon_url", "ccmon API URL (what the hooks and status line call)", { type: "url" }),
          this.text("ccmon_command", "How to run ccmon there", { placeholder: "ccmon" })),
        h("p", { class: "hint", id: "setup-client-note" }),
      ),
    );
    this.clientNote = form.querySelector("#setup-client-note");
    form.addEventListener("submit", (event) => event.preventDefault());
    form.addEventListener("input", (event) => this.changed(event));
    form.addEventListener("change", (event) => this.changed(event));
    return form;
  }

  buildOutput() {
    this.status = h("p", { id: "setup-status", class: "hint", role: "status", "aria-live": "polite" });
    this.error = h("p", { id: "setup-error", class: "error", role: "alert", hidden: true });
    this.install = h("code", { id: "setup-install" });
    this.note = h("p", { id: "setup-note", class: "hint" });
    this.content = h("pre", { id: "setup-preview", tabindex: "0", "aria-label": "Preview of the file" });
    this.download = h("a", { id: "setup-download", class: "button", href: "#", download: "" }, "Download");
    this.download.addEventListener("click", (event) => this.save(event));
    this.command = h("pre", { id: "setup-command", tabindex: "0", "aria-label": "The ccmon setup command line" });
    const copy = h("button", { type: "button", class: "copy" }, "Copy command");
    copy.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(this.command.textContent);
        copy.textContent = "Copied";
      } catch {
        window.getSelection().selectAllChildren(this.command);
        copy.textContent = "Selected: press Ctrl+C";
      }
    });
    return h(
      "div",
      { class: "setup-output", id: "setup-output", "data-state": "loading" },
      h("h3", {}, "Preview"),
      this.status,
      this.error,
      h("p", {}, "Install at: ", this.install),
      this.note,
      this.content,
      h("p", { class: "form-actions" }, this.download),
      h("h3", {}, "Or run on the machine"),
      this.command,
      copy,
    );
  }

  // -- reacting to the form --------------------------------------------------------------------------------------

  changed(event) {
    const field = event.target;
    if (!field.name || !(field.name in this.fields)) return;
    if (field.name === "protocol") {
      // An endpoint left as this server's follows the protocol (gRPC and HTTP listen on different ports).
      const before = this.protocols.get(saved.protocol);
      if (!this.fields.endpoint.value.trim() || (before && this.fields.endpoint.value.trim() === before.endpoint))
        this.fields.endpoint.value = this.protocols.get(field.value).endpoint;
    }
    this.remember();
    this.sync();
    clearTimeout(this.timer);
    const wait = event.type === "input" && field.type !== "checkbox" ? DEBOUNCE_MS : 0;
    this.timer = setTimeout(() => this.pageSignal.aborted || this.preview(), wait);
  }

  remember() {
    for (const [name, el] of Object.entries(this.fields)) saved[name] = el.type === "checkbox" ? (el.checked ? "1" : "") : el.value;
  }

  // Enable what the choices allow: the OS for targets on more than one system, the headers helper over HTTP, the
  // settings-only options outside the shell snippet.
  sync() {
    const target = this.targets.get(this.fields.target.value);
    const os = this.fields.os;
    for (const option of os.options) option.disabled = !target.os.includes(option.value);
    if (!target.os.includes(os.value)) os.value = target.os[0];
    os.disabled = target.os.length < 2;
    const protocol = this.protocols.get(this.fields.protocol.value);
    const settingsOnly = new Set(target.settings_only);
    this.fields.headers_helper.disabled = !protocol.headers_helper || settingsOnly.has("headers_helper");
    this.helperNote.hidden = protocol.headers_helper;
    for (const name of this.choices.needs_api_url) this.fields[name].disabled = settingsOnly.has(name);
    const calls = this.choices.needs_api_url.some((name) => this.fields[name].checked && !this.fields[name].disabled);
    this.fields.ccmon_url.disabled = this.fields.ccmon_command.disabled = !calls;
    this.clientNote.textContent = settingsOnly.has("budget_hook")
      ? "The shell snippet sets environment variables only: hooks, the status line and the headers helper are settings (choose user or managed settings)."
      : "Each runs ccmon on the developer's machine, which calls this server's API.";
  }

  // The query for the file: the enabled, non-empty fields.
  params() {
    const params = new URLSearchParams({ target: this.fields.target.value });
    if (!this.fields.os.disabled) params.set("os", this.fields.os.value);
    params.set("protocol", this.fields.protocol.value);
    for (const name of TEXT_FIELDS) {
      const el = this.fields[name];
      if (!el.disabled && el.value.trim()) params.set(name, el.value.trim());
    }
    for (const [name, el] of Object.entries(this.fields))
      if (el.type === "checkbox" && el.checked && !el.disabled) params.set(name, "1");
    return params;
  }

  // Ask the server for the file as JSON and show it; an older answer arriving late is dropped.
  async preview() {
    const params = this.params();
    const key = params.toString();
    const sequence = ++this.sequence;
    this.controller?.abort();
    const controller = (this.controller = new AbortController());
    this.output.dataset.state = "loading";
    this.download.href = url("setup/file", params);
    const asked = new URLSearchParams(params);
    asked.set("format", "json");
    try {
      const answer = await get("setup/file", asked, controller.signal);
      if (sequence !== this.sequence) return;
      this.show(key, answer);
    } catch (error) {
      if (error.name === "AbortError" || sequence !== this.sequence) return;
      this.last = null;
      this.error.hidden = false;
      this.error.textContent = describe(error);
      this.status.textContent = "The preview is not up to date: fix the value above.";
      this.download.setAttribute("aria-disabled", "true");
      this.output.dataset.state = "error";
    }
  }

  show(key, answer) {
    this.last = { key, answer };
    this.error.hidden = true;
    clear(this.error);
    this.install.textContent = answer.install_path;
    this.note.textContent = answer.note;
    this.content.textContent = answer.content;
    this.content.dataset.filename = answer.filename;
    this.command.textContent = answer.command;
    this.download.download = answer.filename;
    this.download.textContent = "Download " + answer.filename;
    this.download.removeAttribute("aria-disabled");
    const system = this.choices.os.find((o) => o.name === answer.os);
    this.status.textContent = `Preview of ${answer.filename} for ${system ? system.label : answer.os}.`;
    this.output.dataset.state = "ready";
    this.output.dataset.key = key;
  }

  // The link downloads the file itself. With a bearer token (an API token kept for this tab, or an ingest token typed
  // above, which should not land in the browser's download list) the previewed text is saved instead: the same
  // answer, fetched with the token in a header.
  async save(event) {
    if (this.download.getAttribute("aria-disabled") === "true") {
      event.preventDefault();
      return;
    }
    if (!sessionStorage.getItem(TOKEN_KEY) && !this.fields.token.value.trim()) return;
    event.preventDefault();
    const key = this.params().toString();
    if (!this.last || this.last.key !== key) await this.preview();
    if (!this.last || this.last.key !== key) return;
    const { content, filename, media_type: type } = this.last.answer;
    const link = h("a", { href: URL.createObjectURL(new Blob([content], { type })), download: filename });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  }
}
