// Tables: sortable by any column (in the browser, or by the server for paged lists), with a CSV download of exactly
// the rows the API answered for the table.

import { download } from "./api.js";
import { h } from "./dom.js";
import { count, ms, percent } from "./format.js";
import { current, update } from "./state.js";

// Per tool: calls, success, rejections, duration percentiles (the engineering page and a person's page).
export const TOOL_COLUMNS = [
  { key: "tool", label: "Tool" },
  { key: "calls", label: "Calls", numeric: true, format: count },
  { key: "success_rate", label: "Success", numeric: true, format: percent },
  { key: "rejections", label: "Rejected", numeric: true, format: count },
  { key: "duration_mean_ms", label: "Mean", numeric: true, format: ms },
  { key: "duration_p50_ms", label: "p50", numeric: true, format: ms },
  { key: "duration_p95_ms", label: "p95", numeric: true, format: ms },
  { key: "duration_p99_ms", label: "p99", numeric: true, format: ms },
];

const localSorts = new Map(); // table name -> {column, descending}: kept across refreshes of the same table

const isEmpty = (value) => value === null || value === undefined || value === "";

// Numbers as numbers, text in the reader's collation; empty cells last whichever the direction.
function compare(a, b, descending) {
  if (isEmpty(a) || isEmpty(b)) return isEmpty(a) - isEmpty(b);
  const c = typeof a === "number" && typeof b === "number" ? a - b : String(a).localeCompare(String(b));
  return descending ? -c : c;
}

function sorted(rows, sort) {
  if (!sort) return rows;
  return rows.slice().sort((ra, rb) => compare(ra[sort.column], rb[sort.column], sort.descending));
}

function cellValue(value) {
  if (value === null || value === undefined) return "";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

/**
 * columns: [{key, label, format?, numeric?, link?(row) -> href or null, sortable? (default true)}]
 * options: {sort?: {column, descending}, onSort?(column, descending) (server-side sorting),
 *           csv?: {path, params, filename}, empty?}
 */
export function table(name, columns, rows, options = {}) {
  const serverSorted = typeof options.onSort === "function";
  const sort = serverSorted ? options.sort : localSorts.get(name) || options.sort || null;
  const shown = serverSorted ? rows : sorted(rows, sort);
  const head = h(
    "tr",
    {},
    columns.map((col) => {
      const active = sort && sort.column === col.key;
      if (col.sortable === false) return h("th", { scope: "col", class: col.numeric ? "num" : null }, col.label);
      const button = h(
        "button",
        { type: "button", "data-sort": col.key, title: `Sort by ${col.label}` },
        col.label,
        h("span", { class: "arrow", "aria-hidden": "true" }, active ? (sort.descending ? " ▼" : " ▲") : ""),
      );
      button.addEventListener("click", () => {
        // A first click sorts numbers largest first and text A to Z; the next click reverses.
        const descending = active ? !sort.descending : Boolean(col.numeric);
        if (serverSorted) options.onSort(col.key, descending);
        else {
          localSorts.set(name, { column: col.key, descending });
          const replacement = table(name, columns, rows, options);
          wrapper.replaceWith(replacement);
          replacement.querySelector(`button[data-sort="${CSS.escape(col.key)}"]`).focus();
        }
      });
      return h(
        "th",
        { scope: "col", class: col.numeric ? "num" : null, "aria-sort": active ? (sort.descending ? "descending" : "ascending") : null },
        button,
      );
    }),
  );
  const body = h(
    "tbody",
    {},
    shown.map((row) =>
      h(
        "tr",
        {},
        columns.map((col) => {
          const raw = row[col.key];
          const text = col.format ? col.format(raw, row) : raw === null || raw === undefined ? "—" : String(raw);
          const target = col.link && raw !== null && raw !== "" ? col.link(row) : null;
          const content = target ? h("a", { href: target }, text) : text;
          return h("td", { "data-column": col.key, "data-value": cellValue(raw), class: col.numeric ? "num" : null }, content);
        }),
      ),
    ),
  );
  const tools = h("div", { class: "table-tools" });
  if (options.csv) {
    const { path, params, filename } = options.csv;
    tools.append(
      h(
        "button",
        { type: "button", class: "csv", "data-csv": name, onclick: () => download(path, params, filename) },
        "Download CSV",
      ),
    );
  }
  const grid = h("table", { "data-table": name }, h("thead", {}, head), body);
  const wrapper = h("div", { class: "table-panel" }, tools, h("div", { class: "scroll" }, grid));
  if (rows.length === 0) wrapper.append(h("p", { class: "empty" }, options.empty || "No data in this range"));
  return wrapper;
}

/**
 * A list the server sorts and pages (`sort`, `order`, `offset` kept in the URL): the request parameters, and the
 * table options and pager to draw a page of it with.
 */
export function serverPaged(defaultSort, size) {
  const url = current();
  const sort = url.get("sort") || defaultSort;
  const descending = url.get("order") !== "asc";
  const offset = Math.max(0, Number(url.get("offset")) || 0);
  return {
    params: { sort, order: descending ? "desc" : "asc", limit: String(size), offset: String(offset) },
    options: {
      sort: { column: sort, descending },
      onSort: (column, desc) => update({ sort: column, order: desc ? "desc" : "asc", offset: null }, { replace: true }),
    },
    pager(shown, total) {
      const last = Math.min(offset + shown, total);
      const bar = h("div", { class: "pager" }, `${total ? offset + 1 : 0}–${last} of ${count(total)}`);
      if (offset > 0)
        bar.append(h("button", { type: "button", onclick: () => update({ offset: Math.max(0, offset - size) || null }) }, "Previous"));
      if (last < total) bar.append(h("button", { type: "button", onclick: () => update({ offset: offset + size }) }, "Next"));
      return bar;
    },
  };
}
