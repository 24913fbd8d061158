// The sign-in page: posts the email and password as JSON to /auth/login, then goes to the page that sent the
// visitor here (`?next=/cost`, a path of this site only). The session cookie is set by the server (HttpOnly: this
// script never sees it); the CSRF token comes back from /api/v1/me on the next page.

const form = document.getElementById("login-form");
const error = document.getElementById("login-error");
const submit = document.getElementById("login-submit");

function nextPage() {
  const next = new URLSearchParams(location.search).get("next") || "/";
  // Only a path of this site: never an open redirect to another one.
  return next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/\\") ? next : "/";
}

function show(message) {
  error.textContent = message;
  error.hidden = !message;
}

document.getElementById("next").value = nextPage();
if (new URLSearchParams(location.search).has("failed")) show("Wrong email or password.");
// The app's theme (app.js keeps the choice in localStorage), else the system's.
const dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
document.documentElement.dataset.theme = localStorage.getItem("ccmon.theme") || (dark ? "dark" : "light");

// Single sign-on, when the server has it (GET /auth/oidc/enabled); back to the same page afterwards.
fetch("/auth/oidc/enabled")
  .then((response) => (response.ok ? response.json() : null))
  .then((sso) => {
    if (!sso || !sso.enabled) return;
    const link = document.getElementById("sso-link");
    link.href = (sso.start || "/auth/oidc/start") + "?next=" + encodeURIComponent(nextPage());
    document.getElementById("sso").hidden = false;
  })
  .catch(() => {});

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  show("");
  submit.disabled = true;
  try {
    const response = await fetch("/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: form.email.value, password: form.password.value }),
      credentials: "same-origin",
    });
    if (response.ok) {
      location.assign(nextPage());
      return;
    }
    if (response.status === 429) {
      const wait = Number(response.headers.get("Retry-After") || "60");
      const minutes = Math.ceil(wait / 60);
      show(`Too many failed attempts. Try again in ${wait < 120 ? wait + " seconds" : minutes + " minutes"}.`);
    } else if (response.status === 401) {
      show("Wrong email or password.");
    } else {
      const body = await response.json().catch(() => ({}));
      show(typeof body.detail === "string" ? body.detail : `Sign-in failed (HTTP ${response.status}).`);
    }
  } catch {
    show("The server could not be reached.");
  } finally {
    submit.disabled = false;
  }
});

// Single sign-on, when the server has it (GET /auth/oidc/enabled): the link starts it, and comes back to `next`.
fetch("/auth/oidc/enabled", { credentials: "same-origin" })
  .then((response) => (response.ok ? response.json() : null))
  .then((sso) => {
    if (!sso || !sso.enabled) return;
    document.getElementById("sso-link").href = `${sso.start}?next=${encodeURIComponent(nextPage())}`;
    document.getElementById("sso").hidden = false;
  })
  .catch(() => {});
