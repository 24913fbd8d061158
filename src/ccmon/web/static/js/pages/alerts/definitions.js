// Budgets and model policies are edited the same way: a form that creates one or, after "Edit" on a row, replaces
// that one (its id fixed), and a list of the stored ones with Edit and Delete. Admins only: the page leaves both out
// for anyone else (the server refuses their writes anyway).

import { describe, send } from "../../api.js";
import { h } from "../../dom.js";
import { act, confirmButton, grid, items, listPanel, note, say, values } from "../access/common.js";

/**
 * kind: {name ("budget"), plural ("budgets"), path ("budgets"), title ("Budget"), listTitle ("Budgets"),
 * fields(item) -> [Node] (filled from item, or empty for a new one), body(values, form) -> the JSON to send, columns: [grid columns]}.
 * Answers the function that reloads the list.
 */
export function definitionEditor(ctx, layout, kind, { admin, onChange = () => {} }) {
  const line = note(kind.plural);
  let editing = null; // the item being edited, or null for a new one
  let reload = () => {};
  const fields = h("div", { class: "fields" });
  const heading = h("h2", {});
  const submit = h("button", { type: "submit", "data-action": "save" });
  const cancel = h("button", { type: "button", "data-action": "cancel-edit", hidden: true }, "New instead");
  const formLine = note(`${kind.name}-form`);
  const form = h("form", { class: "panel access-form", "data-form": kind.name, autocomplete: "off" },
    heading, fields, h("div", { class: "form-actions" }, submit, cancel), formLine);
  const show = (item) => {
    editing = item;
    heading.textContent = item ? `Edit ${kind.title.toLowerCase()} ${item.name || item.id}` : `New ${kind.title.toLowerCase()}`;
    submit.textContent = item ? "Save" : `Create ${kind.title.toLowerCase()}`;
    cancel.hidden = !item;
    fields.replaceChildren(...kind.fields(item));
    form.dataset.editing = item ? item.id : "";
  };
  cancel.addEventListener("click", () => show(null));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    try {
      const body = kind.body(values(form), form);
      if (editing) body.id = editing.id;
      const path = editing ? `${kind.path}/${encodeURIComponent(editing.id)}` : kind.path;
      const saved = await send(editing ? "PUT" : "POST", path, body);
      say(formLine, `Saved the ${kind.title.toLowerCase()} ${saved?.name || body.name || body.id}.`);
      show(null);
      reload();
      onChange();
    } catch (error) {
      say(formLine, describe(error), true);
    } finally {
      submit.disabled = false;
    }
  });
  if (admin) {
    show(null);
    layout.append(form);
  }
  const columns = [...kind.columns];
  if (admin)
    columns.push({
      key: "actions",
      label: "",
      show: (item) =>
        h("span", { class: "row-actions" },
          h("button", { type: "button", "data-action": "edit", onclick: () => { show(item); form.scrollIntoView({ block: "center" }); } }, "Edit"),
          confirmButton("Delete", "Really delete?", () =>
            act(line, () => send("DELETE", `${kind.path}/${encodeURIComponent(item.id)}`), () => `Deleted ${item.name || item.id}.`).then(() => {
              reload();
              onChange();
            }), { "data-action": "delete" })),
    });
  reload = listPanel(ctx, layout, kind.plural, kind.listTitle, () => ctx.get(kind.path), (body, answer) => {
    body.append(line, grid(kind.plural, columns, items(answer, kind.plural), { rowKey: (item) => item.id, empty: `No ${kind.plural} yet.` }));
  });
  return reload;
}
