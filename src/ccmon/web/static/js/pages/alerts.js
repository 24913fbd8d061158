// The Alerts page: what fires now (firing, pending, silenced, no data, errors), the silences, the rules with their
// editor and dry run, the history of state changes and each notification's delivery. Everyone sees what their role
// may see (the server scopes the instances); only admins get the controls that change anything.

import { h } from "../dom.js";
import * as activity from "./alerts/activity.js";
import { isAdmin } from "./alerts/common.js";
import * as instances from "./alerts/instances.js";
import * as rules from "./alerts/rules.js";
import * as silences from "./alerts/silences.js";

export const name = "alerts";
export const title = "Alerts";
export const autoRefresh = false; // a rule or silence being written must not be redrawn under the reader
export const controls = false; // rules carry their own windows: no time range or filters

export async function render(ctx) {
  ctx.heading("Alerts", "Rules evaluated on the telemetry as it arrives: what fires now, what changed, and who was told.");
  const admin = await isAdmin();
  const alerts = ctx.get("alerts");
  alerts.catch(() => {}); // shown by the panels that use it
  const layout = ctx.section();
  let silenceForm = null;
  const redraw = instances.render(ctx, layout, alerts, { admin, onSilence: (instance) => silenceForm?.prefill(instance) });
  layout.append(h("h2", { class: "wide section-title" }, "Silences"));
  silenceForm = silences.render(ctx, layout, { admin, onChange: redraw });
  layout.append(h("h2", { class: "wide section-title" }, "Rules"));
  rules.render(ctx, layout, alerts, { admin });
  layout.append(h("h2", { class: "wide section-title" }, "What happened"));
  const names = alerts.then(
    (answer) => Object.fromEntries((answer.rules || []).map((r) => [r.id, r.name])),
    () => ({}),
  );
  activity.render(ctx, layout, names);
}
