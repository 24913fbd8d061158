// Claude Code's reported cost next to the cost ccmon recomputes from the tokens with its dated price table
// (GET /api/v1/cost/check, and a session's `cost_check`): the Cost page and the session page show the same table.

import { h } from "./dom.js";
import { count, usd } from "./format.js";
import { table } from "./table.js";

const signedPct = (pct) => (pct === null || pct === undefined ? "—" : (pct > 0 ? "+" : "") + pct.toFixed(1) + "%");

// Unknown models keep their tokens and say so: never shown as $0.
function rows(check) {
  return [
    ...check.rows.map((r) => ({ ...r, status: r.flagged ? "differs" : "agrees" })),
    ...check.unknown_models.map((r) => ({ ...r, status: "no price" })),
  ];
}

function status(value, row) {
  if (value === "agrees") return "✓ agrees";
  return value === "differs" ? `⚠ differs by ${signedPct(row.difference_pct)}` : "⚠ unknown model: no price";
}

// `csv`: {path, params, filename, checkOf(answer)}: the CSV is the same rows, from the answer `path` gives.
export function costCheckTable(name, check, csv) {
  const columns = [
    { key: "model", label: "Model" },
    { key: "priced_as", label: "Priced as", format: (v) => v ?? "—", title: "The price-table entry (GET /api/v1/pricing)" },
    { key: "requests", label: "Requests", numeric: true, format: count },
    {
      key: "reported_cost_usd",
      label: "Reported",
      numeric: true,
      format: usd,
      title: "Sum of Claude Code's cost_usd on its api_request events",
    },
    {
      key: "recomputed_cost_usd",
      label: "List price",
      numeric: true,
      format: (v) => (v === null || v === undefined ? "no price" : usd(v)),
      title: "Recomputed from the requests' tokens with ccmon's price table (cache writes at the 5 min rate)",
    },
    { key: "difference_usd", label: "Difference", numeric: true, format: usd, title: "list price − reported" },
    { key: "input_tokens", label: "Input tokens", numeric: true, format: count },
    { key: "output_tokens", label: "Output tokens", numeric: true, format: count },
    {
      key: "status",
      label: "Check",
      format: status,
      title: `Flagged above ${check.threshold_pct}% difference, or without a price`,
    },
  ];
  const shown = rows(check);
  const flagged = shown.filter((r) => r.flagged).length;
  return h(
    "div",
    { class: "cost-check", "data-flagged": String(flagged) },
    table(name, columns, shown, {
      sort: { column: "reported_cost_usd", descending: true },
      empty: "No API requests in this range.",
      csv: {
        path: csv.path,
        params: csv.params,
        filename: csv.filename,
        rows: (answer) => [...csv.checkOf(answer).rows, ...csv.checkOf(answer).unknown_models],
      },
    }),
    h(
      "p",
      { class: "hint" },
      `Prices checked ${check.prices_checked}. ` +
        (flagged ? `${flagged} model${flagged === 1 ? "" : "s"} flagged: ` : "No difference above the threshold. ") +
        `Reported ${usd(check.reported_cost_usd)}, list price ${usd(check.recomputed_cost_usd)}` +
        (check.unknown_models.length ? " (unknown models not included)." : "."),
    ),
  );
}
