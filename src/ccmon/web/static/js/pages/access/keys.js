// API keys: for scripts and automation, each with a role and, for the roles bounded to some rows, its scope (a
// person, a team, a department). The plaintext key is shown once, when it is created.

import { send } from "../../api.js";
import { h } from "../../dom.js";
import { ROLES, act, choice, confirmButton, endOfDay, form, grid, input, items, listPanel, note, secretOnce, when } from "./common.js";

export function render(ctx) {
  const layout = ctx.section();
  const line = note("api-keys");
  const secret = h("div", { class: "secret-slot" });
  let reload = () => {};
  layout.append(
    form(
      "add-api-key",
      "Create an API key",
      [
        input("Name", "name", { required: true, placeholder: "nightly-report" }),
        choice("Role", "role", ROLES, "viewer"),
        input("Person (developer scope)", "person", { placeholder: "email" }),
        input("Team (team lead scope)", "team"),
        input("Department (manager scope)", "department"),
        input("Expires (UTC, end of day)", "expires", { type: "date" }),
      ],
      "Create key",
      async (v) => {
        const body = { name: v.name, role: v.role, person: v.person ?? "", team: v.team ?? "", department: v.department ?? "" };
        if (v.expires) body.expires_at = endOfDay(v.expires);
        const created = await send("POST", "api-keys", body);
        secretOnce(secret, "api-key", `API key "${v.name}":`, created.key,
          "Send it as the header Authorization: Bearer <key>.");
        reload();
        return `Created the key ${v.name}.`;
      },
    ),
  );
  layout.append(h("div", { class: "wide" }, secret));
  const columns = [
    { key: "name", label: "Name" },
    { key: "id", label: "Id" },
    { key: "role", label: "Role" },
    { key: "person", label: "Person" },
    { key: "team", label: "Team" },
    { key: "department", label: "Department" },
    { key: "created_at", label: "Created", show: (k) => when(k.created_at) },
    { key: "expires_at", label: "Expires", show: (k) => when(k.expires_at, "never") },
    { key: "revoked", label: "Status", show: (k) => (k.revoked ? "revoked" : "active") },
    {
      key: "actions",
      label: "",
      show: (k) =>
        k.revoked
          ? ""
          : confirmButton("Revoke", "Really revoke?", () =>
              act(line, () => send("DELETE", "api-keys/" + encodeURIComponent(k.id)), () => `Revoked the key ${k.name}.`)
                .then(() => reload()), { "data-action": "revoke" }),
    },
  ];
  reload = listPanel(ctx, layout, "api-keys", "API keys", () => ctx.get("api-keys"), (body, answer) => {
    body.append(line, grid("api-keys", columns, items(answer, "api_keys"), { rowKey: (k) => k.id, empty: "No API keys yet." }));
  });
}
