// The single-page app: routes each path to its page, keeps the controls in step with the URL, refreshes every
// 30 s unless paused, switches the theme, and shows who is signed in (with "Sign out", and the Access pages for admins).

import { ApiError, get, me, send, setParallelRequests, setToken, signIn } from "./api.js";
import { clear, h } from "./dom.js";
import { exact } from "./format.js";
import { PageContext, describe } from "./page.js";
import * as state from "./state.js";
import * as access from "./pages/access.js";
import * as adoption from "./pages/adoption.js";
import * as alerts from "./pages/alerts.js";
import * as budgets from "./pages/budgets.js";
import * as connect from "./pages/connect.js";
import * as cost from "./pages/cost.js";
import * as engineering from "./pages/engineering.js";
import * as events from "./pages/events.js";
import * as executive from "./pages/executive.js";
// Not `history`: that name would shadow the browser's window.history (pushState) in this module.
import * as historyPage from "./pages/history.js";
import * as people from "./pages/people.js";
import * as person from "./pages/person.js";
import * as session from "./pages/session.js";
import * as sessions from "./pages/sessions.js";

const REFRESH_MS = 30000;
const LOADING_REFRESH_MS = 5000; // while a demo load runs, so the figures follow it
const PAGES = { "/": executive, "/cost": cost, "/engineering": engineering, "/adoption": adoption, "/people": people,
  "/sessions": sessions, "/events": events, "/connect": connect, "/alerts": alerts, "/budgets": budgets,
  "/history": historyPage };

const main = document.getElementById("page");
const controls = document.getElementById("controls");
const status = document.getElementById("status");
let current = null; // {controller, page}
let refreshTimer = null;
let loadingState = null; // the `loading.state` of the last /api/v1/server answer: "running", "done", "failed" or null

function route(path) {
  if (PAGES[path]) return { page: PAGES[path], arg: null };
  const admin = /^\/access(?:\/([a-z-]+))?\/?$/.exec(path);
  if (admin) return admin[1] && !access.SECTIONS[admin[1]] ? null : { page: access, arg: admin[1] || "users" };
  const match = /^\/(people|sessions)\/(.+)$/.exec(path);
  if (match) {
    try {
      return { page: match[1] === "people" ? person : session, arg: decodeURIComponent(match[2]) };
    } catch {
      return null; // not a valid escape: page not found
    }
  }
  return null;
}

// What the server says about itself (budget, endpoints, whether any telemetry arrived, a demo load under way),
// asked at every render without holding the page up; a page that needs it awaits `ctx.info`.
function serverInfo() {
  return get("server", null, AbortSignal.timeout(30000)).then(
    (info) => {
      setParallelRequests(info.parallel_requests);
      document.getElementById("version").textContent = "ccmon " + info.version;
      showBanner(info);
      return info;
    },
    () => null, // a 401 is handled by the page's own requests
  );
}

// The banner over every page: a demo load's progress (or its failure) while one runs in this server, else, while
// nothing has arrived, a pointer to Connect. Never "nothing has arrived" while a demo is being loaded.
function showBanner(info) {
  const banner = document.getElementById("banner");
  const load = info.loading ?? null;
  const state = load?.state ?? null;
  const was = loadingState;
  loadingState = state;
  clear(banner);
  banner.removeAttribute("role");
  if (state) banner.dataset.loading = state;
  else delete banner.dataset.loading;
  if (state === "running") {
    const total = load.total ?? null;
    const done = load.done ?? 0;
    if (total) {
      const pct = Math.min(100, Math.floor((done / total) * 100));
      banner.append(
        `Loading demo data: ${pct} % (${exact(done)} of ${exact(total)} events and data points). Figures grow until it finishes. `,
        h("progress", { max: String(total), value: String(Math.min(done, total)), "aria-label": "Demo data loaded" }),
      );
    } else banner.append("Loading demo data… Figures grow until it finishes. ", h("progress", { "aria-label": "Demo data loaded" }));
    banner.hidden = false;
  } else if (state === "failed") {
    banner.setAttribute("role", "alert");
    banner.append(
      `Loading demo data failed: ${load.error || "no reason given"}. `,
      `The pages show the ${exact(load.done ?? 0)} events and data points that were stored before it stopped.`,
    );
    banner.hidden = false;
  } else if (state === "done" && was === "running" && localStorage.getItem("ccmon.refresh") === "off") {
    banner.append("Demo data loaded. Refresh (r) to see all of it.");
    banner.hidden = false;
  } else {
    banner.hidden = state === "done" || info.has_data || location.pathname === "/connect" || location.pathname.startsWith("/access");
    banner.append(
      "No telemetry has arrived yet. ",
      h("a", { href: "/connect" }, "Connect Claude Code"),
      " to this server to fill these pages.",
    );
  }
  // The filter choices change as the data arrives: asked again at every render while it loads, and once after.
  if (state === "running" || was === "running") optionsKey = null;
  if ((was === "running") !== (state === "running")) {
    scheduleRefresh();
    // The load has ended: show all of it once (unless auto-refresh is paused).
    if (was === "running" && localStorage.getItem("ccmon.refresh") !== "off") setTimeout(() => refreshNow(), 0);
  }
}

// Who is signed in, in the header: name and role, and "Sign out" when the server asks for a login
// (`auth_required`); the Access link for admins only (a hint: the server refuses the others anyway).
async function showAccount() {
  const who = await me();
  document.getElementById("nav-access").hidden = !(who && who.role === "admin");
  const account = document.getElementById("account");
  if (!who || !who.auth_required) {
    account.hidden = true;
    return;
  }
  document.getElementById("account-name").textContent = who.name || who.person || "signed in";
  document.getElementById("account-role").textContent = String(who.role || "").replace("_", " ");
  account.dataset.role = who.role || "";
  account.hidden = false;
}

async function signOut() {
  try {
    await send("POST", "/auth/logout");
  } catch {
    // already signed out, or the session expired: the login page either way
  }
  setToken(null);
  location.assign("/login");
}

function askForToken() {
  const form = h(
    "form",
    { class: "token-form" },
    h("h1", {}, "API token"),
    h("p", {}, "This server asks for an API token (CCMON_API_TOKENS) or an API key (ccmon api-keys). It is kept for this browser tab only."),
    h("label", {}, "Token ", h("input", { type: "password", name: "token", autocomplete: "off", required: true })),
    h("button", { type: "submit" }, "Continue"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    setToken(form.elements.token.value);
    render();
  });
  clear(main).append(form);
  main.dataset.state = "error";
}

// A window in the URL that cannot be used (`from=yesterday`) is said above the page, with the window shown instead.
function showRangeProblem(problem) {
  let alert = document.getElementById("range-problem");
  if (!problem) {
    alert?.remove();
    return;
  }
  if (!alert) {
    alert = h("p", { id: "range-problem", class: "range-problem", role: "alert" });
    controls.after(alert);
  }
  alert.textContent = problem;
}

function syncControls() {
  const params = state.current();
  const range = state.timeRange(params);
  controls.elements.range.value = range.preset;
  controls.classList.toggle("is-custom", range.preset === "custom");
  controls.elements.from.value = range.from.slice(0, 16);
  controls.elements.to.value = range.to.slice(0, 16);
  showRangeProblem(range.problem);
  // On a person's page the person filter shows that person (the page is theirs whatever the URL's filter says).
  const found = route(location.pathname);
  controls.hidden = found?.page?.controls === false; // the Access pages have no time range or filters
  const pagePerson = found?.page === person ? found.arg : null;
  for (const name of state.FILTERS) {
    const select = controls.elements[name];
    const value = (name === "person" && pagePerson) || params.get(name) || "";
    if (![...select.options].some((o) => o.value === value)) select.append(h("option", { value }, value));
    select.value = value;
    if (value) select.closest("label").hidden = false;
  }
  document.querySelector(".brand").href = state.href("/");
  for (const link of document.querySelectorAll("#nav a")) {
    const path = link.getAttribute("href").split("?")[0];
    const active = path === "/" ? location.pathname === "/" : location.pathname.startsWith(path);
    link.href = path === "/access" ? path : state.href(path);
    if (active) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

// Filter choices: the values seen in the window (largest cost first), fetched after the page has drawn so they
// never delay it. A filter with fewer than two values to choose from is hidden (one organisation, one provider),
// unless one is chosen.
let optionsKey = null;
async function loadFilterOptions(ctx) {
  const key = ctx.range.from.slice(0, 13) + ctx.range.to.slice(0, 13);
  if (key === optionsKey) return;
  optionsKey = key;
  await Promise.all(
    state.FILTERS.map(async (name) => {
      const params = new URLSearchParams({ from: ctx.range.from, to: ctx.range.to, top: "500", by: name });
      let rows = [];
      try {
        rows = (await get("cost/breakdown", params, ctx.signal)).rows; // dropped from the queue by the next render
      } catch {
        optionsKey = null; // asked again at the next render
        return;
      }
      const select = controls.elements[name];
      const chosen = select.value;
      const keep = select.options[0];
      clear(select).append(keep);
      // `(unknown)` selects the rows without a value (sent without the attribute): last, after the names.
      const values = rows.map((r) => r.key).filter((k) => k && k !== "(rest)" && k !== state.UNKNOWN).sort();
      if (rows.some((r) => r.key === state.UNKNOWN)) values.push(state.UNKNOWN);
      if (chosen && !values.includes(chosen)) values.unshift(chosen);
      for (const v of values) select.append(h("option", { value: v }, v));
      select.value = chosen;
      select.closest("label").hidden = values.length < 2 && !chosen;
    }),
  );
}

async function render({ refresh = false } = {}) {
  const found = route(location.pathname);
  syncControls();
  if (current) {
    current.controller.abort();
    if (current.page !== found?.page && current.page?.leave) current.page.leave();
  }
  const controller = new AbortController();
  current = { controller, page: found?.page };
  const target = refresh ? h("div", { class: "staging" }) : clear(main);
  if (refresh) main.append(target);
  else {
    main.dataset.state = "loading";
    main.dataset.page = found ? found.page.name : "missing";
  }
  const ctx = new PageContext(target, serverInfo(), controller.signal);
  status.textContent = refresh ? "Refreshing…" : "Loading…";
  try {
    if (!found) {
      ctx.heading("Page not found");
      target.append(h("p", {}, h("a", { href: "/" }, "Back to the executive page")));
    } else {
      document.title = `${found.page.title} · ccmon`;
      await found.page.render(ctx, found.arg);
    }
    await ctx.settled();
    if (controller.signal.aborted) return;
    if (refresh) {
      target.classList.remove("staging");
      main.replaceChildren(...target.childNodes);
    }
    main.dataset.state = "ready";
    main.dataset.readyMs = String(Math.round(performance.now()));
    status.textContent = "Updated " + new Date().toISOString().slice(11, 19) + " UTC";
    if (found?.page?.controls !== false) loadFilterOptions(ctx);
  } catch (error) {
    if (controller.signal.aborted || error.name === "AbortError") return;
    // Not signed in: the login page, or (no login page, or `#api-token` asked for) the API token form.
    if (error instanceof ApiError && error.status === 401) {
      if (location.hash === "#api-token") return askForToken();
      return signIn().then((leaving) => leaving || askForToken());
    }
    status.textContent = describe(error);
    if (refresh) target.remove(); // the view on screen stays, and so does the next refresh
    else main.dataset.state = "error";
  }
}

// A refresh of the page on screen, unless it would disturb: a hidden tab, a page still drawing, the keyboard focus
// inside the page, or a page that keeps itself current. Answers whether it refreshed.
function refreshNow() {
  if (document.visibilityState !== "visible" || main.dataset.state !== "ready") return false;
  if (main.contains(document.activeElement) && document.activeElement !== main) return false; // keep the focus
  if (current?.page?.autoRefresh === false) return false;
  render({ refresh: true });
  return true;
}

// Every 30 s, or every 5 s while a demo load runs. Paused, or on a page that is not refreshed, a running load's
// progress is still followed in the banner.
function scheduleRefresh() {
  clearInterval(refreshTimer);
  refreshTimer = null;
  const on = localStorage.getItem("ccmon.refresh") !== "off";
  const button = document.getElementById("refresh-toggle");
  button.setAttribute("aria-pressed", String(on));
  button.textContent = on ? "Auto-refresh on" : "Auto-refresh paused";
  const loading = loadingState === "running";
  if (on || loading)
    refreshTimer = setInterval(
      () => {
        if (on && refreshNow()) return; // the render asks the server's state too
        if (loadingState === "running" && document.visibilityState === "visible") serverInfo();
      },
      loading ? LOADING_REFRESH_MS : REFRESH_MS,
    );
}

function applyTheme(theme) {
  document.documentElement.dataset.theme = theme;
  document.getElementById("theme-toggle").textContent = theme === "dark" ? "Light theme" : "Dark theme";
}

function wire() {
  controls.addEventListener("submit", (event) => event.preventDefault());
  controls.addEventListener("change", (event) => {
    const field = event.target;
    if (field.name === "range") {
      if (field.value === "custom") {
        const range = state.timeRange();
        state.update({ range: null, from: range.from, to: range.to, offset: null, cursor: null });
      } else state.update({ range: field.value, from: null, to: null, offset: null, cursor: null });
    } else if (field.name === "from" || field.name === "to") {
      const from = controls.elements.from.value;
      const to = controls.elements.to.value;
      if (from && to && from < to) state.update({ range: null, from: from + ":00Z", to: to + ":00Z", offset: null });
    } else if (field.name === "person" && route(location.pathname)?.page === person) {
      // On a person's page: another person opens their page, "Everyone" the People list.
      const target = field.value ? "/people/" + encodeURIComponent(field.value) : "/people";
      history.pushState(null, "", state.href(target, { person: null }));
      render();
    } else if (state.FILTERS.includes(field.name)) {
      state.update({ [field.name]: field.value || null, offset: null, cursor: null });
    }
  });
  document.addEventListener("click", (event) => {
    const link = event.target.closest("a[href]");
    if (!link || link.target || link.hasAttribute("download") || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const url = new URL(link.href, location.href);
    if (url.origin !== location.origin || !route(url.pathname)) return;
    if (url.hash && url.pathname === location.pathname && url.search === location.search) return; // an anchor
    event.preventDefault();
    history.pushState(null, "", url.pathname + url.search);
    render();
    main.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  });
  window.addEventListener("popstate", () => render());
  window.addEventListener("ccmon:navigate", () => render());
  document.getElementById("refresh-toggle").addEventListener("click", () => {
    const on = localStorage.getItem("ccmon.refresh") !== "off";
    localStorage.setItem("ccmon.refresh", on ? "off" : "on");
    scheduleRefresh();
  });
  document.getElementById("refresh-now").addEventListener("click", () => render({ refresh: true }));
  document.getElementById("sign-out").addEventListener("click", () => signOut());
  document.getElementById("theme-toggle").addEventListener("click", () => {
    const next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
    localStorage.setItem("ccmon.theme", next);
    applyTheme(next);
  });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "r" || event.metaKey || event.ctrlKey || event.altKey) return;
    if (event.target.closest("input, select, textarea")) return;
    render({ refresh: true });
  });
}

const dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
applyTheme(localStorage.getItem("ccmon.theme") || (dark ? "dark" : "light"));
wire();
scheduleRefresh();
showAccount();
render();
