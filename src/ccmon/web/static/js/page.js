// What a page gets to draw itself: its query (window and filters), panels to fill, and a way to fetch that keeps
// track of what is still loading, so the page can say when it is ready.

import { describe, download, get } from "./api.js";
import { clear, h } from "./dom.js";
import * as state from "./state.js";

export class PageContext {
  constructor(target, info, signal) {
    this.target = target;
    this.info = info; // a promise of /api/v1/server's answer, or of null
    this.signal = signal;
    this.params = state.current();
    this.range = state.timeRange(this.params);
    this.bucket = state.bucketFor(this.range);
    this.query = state.queryParams(this.params);
    this.pending = [];
  }

  // The analytics query plus endpoint options: the same object is used for the request and for its CSV download.
  with(extra = {}) {
    const params = new URLSearchParams(this.query);
    for (const [key, value] of Object.entries(extra)) params.set(key, value);
    return params;
  }

  // The filters without the window, plus endpoint options: for the requests that take no window (a session is shown
  // whole; month to date is as of an instant).
  withFilters(extra = {}) {
    const params = state.filterParams(this.params);
    for (const [key, value] of Object.entries(extra)) params.set(key, value);
    return params;
  }

  get(path, params) {
    return get(path, params, this.signal);
  }

  heading(title, subtitle) {
    this.target.append(h("h1", {}, title));
    if (subtitle) this.target.append(h("p", { class: "subtitle" }, subtitle));
  }

  section() {
    const grid = h("div", { class: "grid" });
    this.target.append(grid);
    return grid;
  }

  // A panel: a figure with a title, whose body is filled when its data arrives.
  // wide: the whole row; span: two columns of it; formula: the exact formula of a ratio it shows (its caption's
  // tooltip); csv: {path, params, filename} for a "Download CSV" button of the rows the chart was drawn from.
  panel(grid, name, title, { chart = true, wide = false, span = false, note = null, formula = null, csv = null } = {}) {
    const body = h("div", { class: "panel-body" }, h("p", { class: "loading" }, "Loading…"));
    const caption = h(
      "figcaption",
      { title: formula },
      formula ? h("span", { class: "caption-text" }, title) : title,
      note ? h("span", { class: "note" }, note) : null,
    );
    if (csv) {
      caption.classList.add("with-tools");
      caption.append(csvButton(name, csv));
    }
    const figure = h(
      "figure",
      { class: "panel" + (chart ? " chart" : "") + (wide ? " wide" : "") + (span ? " span" : ""), "data-panel": name },
      caption,
      body,
    );
    grid.append(figure);
    return { figure, body };
  }

  // Say in a panel's caption when its percentiles are approximate (an answer's `percentiles`: exact, or within
  // `relative_error` of the exact value, read from the durations rollup).
  precision(panel, percentiles) {
    if (!percentiles || percentiles.exact) return;
    const within = `${+(percentiles.relative_error * 100).toFixed(2)} %`;
    panel.figure.querySelector("figcaption").append(
      h("span", { class: "note", "data-precision": "approximate", title: `Percentiles within ${within} of the exact values` }, `percentiles ±${within}`),
    );
  }

  // Run `draw(data)` once `promise` resolves; a failure is shown in the panel (and on the page's state).
  fill(panel, promise, draw) {
    const done = promise.then(
      (data) => draw(data),
      (error) => {
        if (error.name === "AbortError") return;
        clear(panel.body).append(h("p", { class: "error", role: "alert" }, describe(error)));
        panel.figure.dataset.error = "true";
        throw error;
      },
    );
    this.pending.push(done);
    return done;
  }

  stats(grid, tiles) {
    const row = h("div", { class: "stats" });
    grid.append(row);
    const elements = new Map();
    // formula: the exact formula of a ratio, rate or mean, as the tile's tooltip.
    for (const { name, label, formula = null } of tiles) {
      const value = h("span", { class: "value" }, "…");
      const detail = h("span", { class: "detail" });
      const tile = h(
        "div",
        { class: "stat", "data-stat": name, title: formula },
        h("span", { class: "label" }, label),
        value,
        detail,
      );
      row.append(tile);
      elements.set(name, { value, detail });
    }
    const pending = this.pending;
    return {
      // raw: the number as the API answered it; text: how it is shown.
      set(name, raw, text, detail = "") {
        const el = elements.get(name);
        el.value.dataset.value = raw === null || raw === undefined ? "" : String(raw);
        el.value.textContent = text;
        el.detail.textContent = detail;
      },
      // Run `draw(data)` (which sets tiles) once `promise` resolves; a failure is shown on every tile, as `fill`
      // shows it in a panel.
      fill(promise, draw) {
        const done = promise.then(draw, (error) => {
          if (error.name === "AbortError") return;
          for (const el of elements.values()) {
            el.value.textContent = "—";
            el.detail.textContent = describe(error);
          }
          throw error;
        });
        pending.push(done);
      },
    };
  }

  async settled() {
    const results = await Promise.allSettled(this.pending);
    const failure = results.find((r) => r.status === "rejected");
    if (failure) throw failure.reason;
  }
}

// "Download CSV": the rows the API answered for a table or chart, as a file (the endpoint with format=csv).
export function csvButton(name, { path, params, filename, rows = null }) {
  return h(
    "button",
    { type: "button", class: "csv", "data-csv": name, onclick: () => download(path, params, filename, rows) },
    "Download CSV",
  );
}

export { describe };
