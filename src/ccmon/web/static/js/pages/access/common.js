// The pieces every Access page is made of: forms that say what happened, tables whose cells may hold controls, a
// secret shown once with a copy button, and a generic view of an answer (a dry run's changes). Everything that came
// from a user or a file (names, teams, emails, details) goes in as text (`dom.js`), never as markup: names are
// written by whoever can reach the API or edit the directory file.

import { ApiError, describe } from "../../api.js";
import { clear, h } from "../../dom.js";

export const ROLES = ["admin", "finance", "manager", "team_lead", "developer", "viewer"];

// The list in an answer: a bare array, the array under `key`, or else the answer's first array.
export function items(answer, key) {
  if (Array.isArray(answer)) return answer;
  if (answer && Array.isArray(answer[key])) return answer[key];
  for (const value of Object.values(answer || {})) if (Array.isArray(value)) return value;
  return [];
}

// An instant as the pages show it: "2026-11-30 12:34 UTC"; `none` when there is none.
export function when(value, none = "—") {
  if (!value) return none;
  const text = String(value);
  const match = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})/.exec(text);
  return match ? `${match[1]} ${match[2]} UTC` : text;
}

// A date input's value (YYYY-MM-DD) as the end of that day, UTC, or null for none.
export function endOfDay(value) {
  return value ? `${value}T23:59:59Z` : null;
}

export function input(label, name, attrs = {}) {
  return h("label", {}, label, h("input", { name, ...attrs }));
}

export function choice(label, name, options, value = "") {
  return h(
    "label",
    {},
    label,
    h("select", { name }, options.map((o) => h("option", { value: o, selected: o === value }, o.replace("_", " ")))),
  );
}

// The form's fields as an object: text trimmed, empty fields left out.
export function values(form) {
  const out = {};
  for (const [key, value] of new FormData(form)) {
    if (typeof value !== "string") continue;
    const text = key === "password" ? value : value.trim();
    if (text !== "") out[key] = text;
  }
  return out;
}

// A line under a form or above a table saying what the last action did, or why it failed.
export function note(name) {
  return h("p", { class: "access-note", "data-note": name, role: "status", "aria-live": "polite" });
}

export function say(line, text, failed = false) {
  line.textContent = text;
  line.classList.toggle("error", failed);
  line.setAttribute("role", failed ? "alert" : "status");
}

// Run `action()` (a request); say its answer (`done(result)`, a sentence) or the server's reason on `line`.
export async function act(line, action, done) {
  try {
    const result = await action();
    say(line, done(result));
    return result;
  } catch (error) {
    say(line, describe(error), true);
    return undefined;
  }
}

// A form in a panel: `submit(values, form)` sends it and answers the sentence to show; the form is cleared after a
// success, and its fields kept after a failure (so a typo can be fixed).
export function form(name, title, fields, label, submit) {
  const line = note(name);
  const button = h("button", { type: "submit" }, label);
  const el = h(
    "form",
    { class: "panel access-form", "data-form": name, autocomplete: "off" },
    h("h2", {}, title),
    h("div", { class: "fields" }, fields),
    h("div", { class: "form-actions" }, button),
    line,
  );
  el.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    try {
      const text = await submit(values(el), el);
      say(line, text);
      el.reset();
    } catch (error) {
      say(line, describe(error), true);
    } finally {
      button.disabled = false;
    }
  });
  return el;
}

// A plaintext secret (an API key, an ingest token) shown once, with a copy button: the server keeps only its hash.
export function secretOnce(slot, name, title, value, hint = null) {
  const code = h("code", { class: "secret-value", "data-secret": name, tabindex: "0" }, value);
  const copy = h("button", { type: "button", class: "copy" }, "Copy");
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(value);
      copy.textContent = "Copied";
    } catch {
      window.getSelection().selectAllChildren(code);
      copy.textContent = "Selected: press Ctrl+C";
    }
  });
  const done = h("button", { type: "button" }, "I have saved it");
  const box = h(
    "div",
    { class: "secret", role: "alert", "data-secret-box": name },
    h("p", {}, h("strong", {}, title), " Copy it now: it is shown only this once and cannot be read back."),
    h("div", { class: "secret-row" }, code, copy, done),
    hint ? h("p", { class: "hint" }, hint) : null,
  );
  done.addEventListener("click", () => box.remove());
  clear(slot).append(box);
  code.focus();
}

// A button asking twice: the first click arms it ("Really revoke?") for five seconds, the second acts.
export function confirmButton(label, question, action, attrs = {}) {
  const button = h("button", { type: "button", class: "danger", ...attrs }, label);
  let armed = null;
  button.addEventListener("click", async () => {
    if (!armed) {
      button.textContent = question;
      button.dataset.armed = "true";
      armed = setTimeout(() => {
        armed = null;
        button.textContent = label;
        delete button.dataset.armed;
      }, 5000);
      return;
    }
    clearTimeout(armed);
    armed = null;
    button.disabled = true;
    try {
      await action();
    } finally {
      button.disabled = false;
      button.textContent = label;
      delete button.dataset.armed;
    }
  });
  return button;
}

function cellValue(value) {
  if (value === null || value === undefined) return "";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

/**
 * A table of records. columns: [{key, label, show?(row) -> Node | string (default: the value as text), num?}].
 * Each row is `tr[data-row=<rowKey(row)>]`, each cell `td[data-column][data-value]` (the raw value).
 */
export function grid(name, columns, rows, { rowKey = null, empty = "None yet." } = {}) {
  const head = h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.num ? "num" : null }, c.label)));
  const body = h(
    "tbody",
    {},
    rows.map((row) =>
      h(
        "tr",
        { "data-row": rowKey ? rowKey(row) : null },
        columns.map((c) => {
          const raw = row[c.key];
          const shown = c.show ? c.show(row) : raw === null || raw === undefined || raw === "" ? "—" : cellValue(raw);
          // Long text may be cut at the cell's width: the whole of it is the cell's tooltip.
          const title = typeof shown === "string" && shown.length > 24 ? shown : null;
          return h("td", { "data-column": c.key, "data-value": cellValue(raw), class: c.num ? "num" : null, title }, shown);
        }),
      ),
    ),
  );
  const wrapper = h("div", { class: "scroll" }, h("table", { "data-table": name }, h("thead", {}, head), body));
  if (!rows.length) wrapper.append(h("p", { class: "empty" }, empty));
  return wrapper;
}

// Any JSON answer, readable: a list of records as a table, an object as a list of its fields, a value as text.
export function view(value, name = "result") {
  if (Array.isArray(value)) {
    if (!value.length) return h("p", { class: "empty" }, "None.");
    if (value.every((v) => v && typeof v === "object" && !Array.isArray(v))) {
      const keys = [...new Set(value.flatMap((v) => Object.keys(v)))];
      return grid(name, keys.map((k) => ({ key: k, label: k })), value.slice(0, 200));
    }
    return h("p", {}, value.map(cellValue).join(", "));
  }
  if (value && typeof value === "object") {
    return h(
      "dl",
      { class: "facts", "data-view": name },
      Object.entries(value).flatMap(([k, v]) => [
        h("dt", {}, k),
        h("dd", { "data-key": k }, v && typeof v === "object" ? view(v, `${name}-${k}`) : cellValue(v)),
      ]),
    );
  }
  return h("span", {}, cellValue(value));
}

// A panel holding a list fetched from the server: `draw(body, answer)` fills it. The first load counts towards the
// page being ready; a 403 is shown in the panel, and the page's forms are taken away (they would only be refused).
// `reload()` fetches and draws it again after a change.
export function listPanel(ctx, grid, name, title, fetchList, draw) {
  const panel = ctx.panel(grid, name, title, { chart: false, wide: true });
  const paint = (answer) => {
    clear(panel.body);
    draw(panel.body, answer);
  };
  ctx.fill(panel, fetchList(), paint).catch((error) => {
    if (error instanceof ApiError && error.status === 403)
      for (const el of ctx.target.querySelectorAll(".access-form, .secret-slot")) el.remove();
  });
  return async () => {
    try {
      paint(await fetchList());
      delete panel.figure.dataset.error;
    } catch (error) {
      if (error.name === "AbortError") return;
      clear(panel.body).append(h("p", { class: "error", role: "alert" }, describe(error)));
      panel.figure.dataset.error = "true";
    }
  };
}
