// Tables: sortable by any column (in the browser, or by the server for paged lists), with a CSV download of exactly
// the rows the API answered for the table.

import { h } from "./dom.js";
import { FORMULAS, count, ms, percent } from "./format.js";
import { csvButton } from "./page.js";
import { current, update } from "./state.js";

// Per tool: calls, success, rejections, duration percentiles (the engineering page and a person's page).
export const TOOL_COLUMNS = [
  { key: "tool", label: "Tool" },
  { key: "calls", label: "Calls", numeric: true, format: count, title: "tool_result events: the tool ran" },
  { key: "success_rate", label: "Success", numeric: true, format: percent, title: FORMULAS.success_rate },
  { key: "rejections", label: "Rejected", numeric: true, format: count, title: "tool_decision events with decision = reject" },
  { key: "duration_mean_ms", label: "Mean", numeric: true, format: ms, title: FORMULAS.duration_mean },
  { key: "duration_p50_ms", label: "p50", numeric: true, format: ms, title: "Median tool duration. " + FORMULAS.percentile },
  { key: "duration_p95_ms", label: "p95", numeric: true, format: ms, title: "95th percentile of tool duration. " + FORMULAS.percentile },
  { key: "duration_p99_ms", label: "p99", numeric: true, format: ms, title: "99th percentile of tool duration. " + FORMULAS.percentile },
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

// A cell's text as shown.
function shownText(col, row) {
  const raw = row[col.key];
  return col.format ? col.format(raw, row) : raw === null || raw === undefined ? "—" : String(raw);
}

// A column with nothing to show in any of these rows (no value, or shown as "" or "—").
function blank(col, rows) {
  return rows.every((row) => {
    if (isEmpty(row[col.key])) return true;
    const text = shownText(col, row);
    return text === "" || text === "—";
  });
}

/**
 * columns: [{key, label, format?, numeric?, link?(row) -> href or null, sortable? (default true),
 *            title? (what the column is: a ratio's exact formula), keep? (never hidden by hideEmpty)}]
 * options: {sort?: {column, descending}, onSort?(column, descending) (server-side sorting),
 *           csv?: {path, params, filename}, empty?, hideEmpty? (leave out the columns blank in every row)}
 */
export function table(name, columns, rows, options = {}) {
  const serverSorted = typeof options.onSort === "function";
  const sort = serverSorted ? options.sort : localSorts.get(name) || options.sort || null;
  const shown = serverSorted ? rows : sorted(rows, sort);
  const all = columns;
  if (options.hideEmpty && rows.length) columns = columns.filter((col) => col.keep || !blank(col, rows));
  const head = h(
    "tr",
    {},
    columns.map((col) => {
      const active = sort && sort.column === col.key;
      if (col.sortable === false)
        return h("th", { scope: "col", class: col.numeric ? "num" : null, title: col.title || null }, col.label);
      const button = h(
        "button",
        { type: "button", "data-sort": col.key, title: col.title ? `${col.title} (select to sort)` : `Sort by ${col.label}` },
        col.label,
        h("span", { class: "arrow", "aria-hidden": "true" }, active ? (sort.descending ? " ▼" : " ▲") : ""),
      );
      button.addEventListener("click", () => {
        // A first click sorts numbers largest first and text A to Z; the next click reverses.
        const descending = active ? !sort.descending : Boolean(col.numeric);
        if (serverSorted) options.onSort(col.key, descending);
        else {
          localSorts.set(name, { column: col.key, descending });
          const replacement = table(name, all, rows, options);
          wrapper.replaceWith(replacement);
          replacement.querySelector(`button[data-sort="${CSS.escape(col.key)}"]`).focus();
        }
      });
      return h(
        "th",
        {
          scope: "col",
          class: col.numeric ? "num" : null,
          title: col.title || null,
          "data-column": col.key,
          "aria-sort": active ? (sort.descending ? "descending" : "ascending") : null,
        },
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
          const text = shownText(col, row);
          const target = col.link && raw !== null && raw !== "" ? col.link(row) : null;
          const content = target ? h("a", { href: target }, text) : text;
          // Long text may be cut at the cell's width: the whole of it is the cell's tooltip.
          const title = !col.numeric && text.length > 24 ? text : null;
          return h("td", { "data-column": col.key, "data-value": cellValue(raw), class: col.numeric ? "num" : null, title }, content);
        }),
      ),
    ),
  );
  const tools = h("div", { class: "table-tools" });
  if (options.csv) tools.append(csvButton(name, options.csv));
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
