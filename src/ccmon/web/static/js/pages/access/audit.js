// The audit log: logins and their failures, user, key, token and directory changes, exports and erasures; newest
// first, a page at a time, optionally only one kind of action.

import { h } from "../../dom.js";
import { grid, items, listPanel, when } from "./common.js";

const PAGE = 50;
const SCAN = 20; // pages read at most to fill one filtered page
const ACTIONS = ["login.ok", "login.failed", "logout", "user.create", "user.update", "user.delete", "apikey.create",
  "apikey.revoke", "token.create", "token.rotate", "token.revoke", "directory.load", "directory.apply", "privacy.forget",
  "export"];

const COLUMNS = [
  { key: "ts", label: "When", show: (e) => when(e.ts) },
  { key: "actor", label: "Who" },
  { key: "action", label: "Action" },
  { key: "target", label: "Target" },
  { key: "outcome", label: "Outcome" },
  { key: "address", label: "From" },
  { key: "detail", label: "Detail" },
];

// An action filter matches the action or its kind ("login" matches login.ok and login.failed).
const matches = (filter) => (entry) => !filter || entry.action === filter || entry.action.startsWith(filter + ".");

export function render(ctx) {
  const layout = ctx.section();
  const state = { filter: "", cursors: [null] }; // cursors[i]: the `before` of page i (null: the newest)
  const filter = h("input", { name: "action", list: "audit-actions", placeholder: "all actions", "aria-label": "Action" });
  const bar = h(
    "form",
    { class: "explorer-controls", "data-form": "audit-filter" },
    h("label", {}, "Action", filter),
    h("datalist", { id: "audit-actions" }, ACTIONS.map((a) => h("option", { value: a }))),
    h("button", { type: "submit" }, "Show"),
  );
  layout.append(h("div", { class: "wide" }, bar));

  // One page: entries read newest first from `before`, filtered here, until a page is full or the log ends.
  async function fetchPage() {
    const before = state.cursors[state.cursors.length - 1];
    const shown = [];
    let cursor = before;
    for (let read = 0; read < SCAN && shown.length < PAGE; read++) {
      const params = { limit: String(PAGE) };
      if (cursor) params.before = cursor;
      const answer = await ctx.get("audit", new URLSearchParams(params));
      shown.push(...items(answer, "entries").filter(matches(state.filter)));
      cursor = answer.next_cursor ?? null;
      if (!cursor || !state.filter) break;
    }
    return { entries: shown, next: cursor };
  }

  const reload = listPanel(ctx, layout, "audit", "Audit log", fetchPage, (body, page) => {
    const pager = h("div", { class: "pager" }, `Page ${state.cursors.length}`);
    if (state.cursors.length > 1)
      pager.append(
        h("button", { type: "button", "data-action": "newest", onclick: () => { state.cursors = [null]; reload(); } }, "Newest"),
        h("button", { type: "button", "data-action": "newer", onclick: () => { state.cursors.pop(); reload(); } }, "Newer"),
      );
    if (page.next)
      pager.append(h("button", { type: "button", "data-action": "older", onclick: () => { state.cursors.push(page.next); reload(); } }, "Older"));
    body.append(grid("audit", COLUMNS, page.entries, { empty: state.filter ? `No ${state.filter} entries.` : "No entries yet." }), pager);
  });
  bar.addEventListener("submit", (event) => {
    event.preventDefault();
    state.filter = filter.value.trim();
    state.cursors = [null];
    reload();
  });
}
