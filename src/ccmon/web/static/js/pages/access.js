// The Access pages (admins): users, API keys, ingest tokens, the directory and the audit log, one tab each at
// /access/<section>. The navigation shows them to admins only, but that is a convenience: the server answers every
// request here with 403 for any other role, and the page shows that answer.

import { h } from "../dom.js";
import * as audit from "./access/audit.js";
import * as directory from "./access/directory.js";
import * as keys from "./access/keys.js";
import * as tokens from "./access/tokens.js";
import * as users from "./access/users.js";

export const name = "access";
export const title = "Access";
export const autoRefresh = false; // forms being filled and a secret shown once must not be redrawn under the reader
export const controls = false; // no time range or filters

export const SECTIONS = {
  users: { title: "Users", module: users },
  "api-keys": { title: "API keys", module: keys },
  "ingest-tokens": { title: "Ingest tokens", module: tokens },
  directory: { title: "Directory", module: directory },
  audit: { title: "Audit log", module: audit },
};

export function render(ctx, section) {
  const chosen = SECTIONS[section] ? section : "users";
  ctx.heading("Access", "Who may sign in and with which role, the keys and tokens that reach this server, the directory, and what was done.");
  ctx.target.append(
    h(
      "nav",
      { class: "tabs", "aria-label": "Access" },
      Object.entries(SECTIONS).map(([key, s]) =>
        h("a", { href: "/access/" + key, "data-section": key, "aria-current": key === chosen ? "page" : null }, s.title),
      ),
    ),
  );
  document.title = `${SECTIONS[chosen].title} · Access · ccmon`;
  SECTIONS[chosen].module.render(ctx);
}
