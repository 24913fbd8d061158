// Users: who may sign in, with which role, team and department; add, change role, disable, delete.

import { send } from "../../api.js";
import { h } from "../../dom.js";
import { ROLES, act, choice, confirmButton, form, grid, input, items, listPanel, note } from "./common.js";

const path = (email) => "users/" + encodeURIComponent(email);

export function render(ctx) {
  const layout = ctx.section();
  const line = note("users");
  let reload = () => {};
  layout.append(
    form(
      "add-user",
      "Add a user",
      [
        input("Email", "email", { type: "email", required: true, autocomplete: "off" }),
        input("Name", "name", { autocomplete: "off" }),
        choice("Role", "role", ROLES, "developer"),
        input("Team", "team"),
        input("Department", "department"),
        input("Password", "password", { type: "password", autocomplete: "new-password", minlength: "12", placeholder: "12 characters or more" }),
      ],
      "Add user",
      async (v) => {
        const body = { email: v.email, name: v.name ?? "", role: v.role, team: v.team ?? "", department: v.department ?? "" };
        if (v.password) body.password = v.password;
        const user = await send("POST", "users", body);
        reload();
        return `Added ${user?.email ?? v.email} (${user?.role ?? v.role}).`;
      },
    ),
  );
  const change = (user, patch, said) => act(line, () => send("PATCH", path(user.email), patch), () => said).then(() => reload());
  const columns = [
    { key: "email", label: "Email" },
    { key: "name", label: "Name" },
    {
      key: "role",
      label: "Role",
      show: (user) => {
        const select = h("select", { "aria-label": `Role of ${user.email}`, "data-action": "role" },
          ROLES.map((r) => h("option", { value: r, selected: r === user.role }, r.replace("_", " "))));
        select.addEventListener("change", () =>
          change(user, { role: select.value }, `${user.email} is now ${select.value.replace("_", " ")}.`));
        return select;
      },
    },
    { key: "team", label: "Team" },
    { key: "department", label: "Department" },
    { key: "source", label: "Sign-in" },
    { key: "disabled", label: "Status", show: (user) => (user.disabled ? "disabled" : "active") },
    {
      key: "actions",
      label: "",
      show: (user) =>
        h(
          "span",
          { class: "row-actions" },
          h(
            "button",
            {
              type: "button",
              "data-action": user.disabled ? "enable" : "disable",
              onclick: () =>
                change(user, { disabled: !user.disabled }, `${user.email} is ${user.disabled ? "enabled" : "disabled"}.`),
            },
            user.disabled ? "Enable" : "Disable",
          ),
          confirmButton("Delete", "Really delete?", () =>
            act(line, () => send("DELETE", path(user.email)), () => `Deleted ${user.email}.`).then(() => reload()),
            { "data-action": "delete" }),
        ),
    },
  ];
  reload = listPanel(ctx, layout, "users", "Users", () => ctx.get("users"), (body, answer) => {
    body.append(line, grid("users", columns, items(answer, "users"), { rowKey: (u) => u.email, empty: "No users yet." }));
  });
}
