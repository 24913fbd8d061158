// The executive page's "Firing alerts": how many alerts fire now by severity and which, each linking to the Alerts
// page. Hidden while nothing fires, and when the alerts cannot be read (a server without them): the executive page
// never fails for it.

import { h } from "../../dom.js";
import { when } from "../access/common.js";
import { SEVERITIES, badge, labelsText } from "./common.js";
import { shown } from "./instances.js";

const MAX_LISTED = 10;

export function firingPanel(ctx, grid) {
  const panel = ctx.panel(grid, "firing-alerts", "Firing alerts", { chart: false, wide: true });
  panel.figure.hidden = true;
  const draw = (answer) => {
    const firing = shown(answer.instances || []).filter((i) => i.state === "firing" && !i.silenced);
    panel.figure.hidden = firing.length === 0;
    panel.figure.dataset.firing = String(firing.length);
    if (!firing.length) return panel.body.replaceChildren();
    const bySeverity = SEVERITIES.map((s) => [s, firing.filter((i) => (i.severity || "warning") === s).length]).filter(([, n]) => n);
    panel.body.replaceChildren(
      h("p", { class: "firing-counts" }, bySeverity.map(([s, n]) => h("span", { class: "firing-count", "data-severity": s }, badge("severity", s), ` ${n}`))),
      h("ul", { class: "firing-list" }, firing.slice(0, MAX_LISTED).map((i) =>
        h("li", { "data-fingerprint": i.fingerprint },
          badge("severity", i.severity || "warning"), " ",
          h("a", { href: "/alerts" }, i.rule_name || i.rule_id), " ",
          h("span", { class: "note" }, `${labelsText(i.labels)} · since ${when(i.active_since || i.fired_at)}`),
          i.summary ? h("div", { class: "hint" }, i.summary) : ""))),
      firing.length > MAX_LISTED ? h("p", { class: "hint" }, h("a", { href: "/alerts" }, `All ${firing.length} on the Alerts page`)) : "",
    );
  };
  return {
    load() {
      // Waited for (the page is ready once it is drawn) but never failing the page.
      ctx.pending.push(ctx.get("alerts").then(draw, () => {
        panel.figure.hidden = true;
      }));
    },
  };
}
