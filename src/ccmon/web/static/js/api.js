// The one way the pages talk to the server: GET /api/v1/..., with the API token when the server asks for one, and
// the few state-changing requests of the Access pages (`send`), which carry the session's CSRF token.

const TOKEN_KEY = "ccmon.apiToken";

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

function headers() {
  const t = token();
  return t ? { Authorization: "Bearer " + t } : {};
}

// `path` under /api/v1/, or an absolute path (`/auth/logout`).
export function url(path, params) {
  const query = params ? new URLSearchParams(params).toString() : "";
  return (path.startsWith("/") ? path : "/api/v1/" + path) + (query ? "?" + query : "");
}

// Who is signed in (GET /api/v1/me): asked once per page load. A server without the endpoint (or one that fails to
// answer) gives null: the UI then shows no account and no Access pages.
let mePromise = null;
let role = null;

export function me() {
  if (!mePromise)
    mePromise = fetch(url("me"), { headers: headers() }).then(
      async (response) => {
        if (response.status === 401) {
          signIn();
          return null;
        }
        if (!response.ok) return null;
        const answer = await response.json();
        role = answer.role ?? null;
        return answer;
      },
      () => null,
    );
  return mePromise;
}

// Sent on every state-changing request: the session's CSRF token (none for a bearer token or on loopback).
async function csrfHeaders() {
  const who = await me();
  return who && who.csrf_token ? { "X-CSRF-Token": who.csrf_token } : {};
}

// Not (or no longer) signed in: to the login page, back here afterwards. Answers false when the server has no login
// page (an older server, or API tokens only): the caller then asks for an API token.
let leaving = false;

export async function signIn() {
  if (leaving) return true;
  let hasLogin = false;
  try {
    hasLogin = (await fetch("/login", { redirect: "manual" })).ok;
  } catch {
    // unreachable: no login page
  }
  if (!hasLogin) return false;
  leaving = true;
  location.assign("/login?next=" + encodeURIComponent(location.pathname + location.search));
  return true;
}

// Requests sent all at once would share the store's cores and all finish late, so a page's requests go out at most
// `parallel` at a time, in the order the page asks for them (charts first). The server says how many it wants
// (/api/v1/server `parallel_requests`): until it has, one.
let parallel = 1;
let inFlight = 0;
const waiting = [];

export function setParallelRequests(n) {
  parallel = Math.max(1, n);
  while (inFlight < parallel && waiting.length) {
    inFlight++;
    waiting.shift()();
  }
}

async function slot() {
  if (inFlight < parallel) {
    inFlight++;
    return;
  }
  await new Promise((resolve) => waiting.push(resolve));
}

function release() {
  const next = inFlight <= parallel ? waiting.shift() : null;
  if (next) next();
  else inFlight--;
}

async function request(path, params, signal) {
  const target = url(path, params); // now: the caller may change `params` while this waits for a slot
  await slot();
  let response;
  try {
    if (signal && signal.aborted) throw new DOMException("aborted", "AbortError");
    response = await fetch(target, { headers: headers(), signal });
  } finally {
    release();
  }
  if (!response.ok) throw await failure(response);
  return response;
}

async function failure(response) {
  // A 403 is described with the caller's role (`describe`): know it before the error is shown.
  if (response.status === 403) await me();
  let detail = response.statusText;
  try {
    const body = await response.json();
    detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
  } catch {
    // not JSON: keep the status text
  }
  return new ApiError(response.status, detail);
}

// A state-changing request (POST, PUT, PATCH, DELETE): `body` is sent as JSON, or as is (a file's text) with
// `contentType`. Answers the JSON reply, or null for an empty one. A 401 goes to the login page.
export async function send(method, path, body = undefined, { params = null, contentType = null } = {}) {
  const sent = { ...headers(), ...(await csrfHeaders()) };
  let payload;
  if (body !== undefined) {
    sent["Content-Type"] = contentType || "application/json";
    payload = contentType ? body : JSON.stringify(body);
  }
  const response = await fetch(url(path, params), { method, headers: sent, body: payload });
  if (response.status === 401) signIn();
  if (!response.ok) throw await failure(response);
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

// What a failed request means to the reader; a 403 names the caller's role (the server decides, per role).
export function describe(error) {
  if (error instanceof ApiError) {
    if (error.status === 401) return "Not signed in: the server asks for a login or an API token.";
    if (error.status === 403)
      return `Not allowed for your role${role ? ` (${role})` : ""}: ${error.message || "forbidden"}`;
    return `The server answered ${error.status}: ${error.message}`;
  }
  return String(error.message || error);
}

export async function get(path, params, signal) {
  return (await request(path, params, signal)).json();
}

// The same rows as CSV, saved as a file: fetched (so the token goes along) and handed to the browser as a download.
// An endpoint without a CSV form (`engineering/errors`) gives its rows as `rows(answer)`, written out here in the
// API's CSV shape (a header of the keys, then one line per row).
export async function download(path, params, filename, rows = null) {
  if (rows) return save(new Blob([toCsv(rows(await get(path, params)))], { type: "text/csv" }), filename);
  const csvParams = new URLSearchParams(params);
  csvParams.set("format", "csv");
  return save(await (await request(path, csvParams)).blob(), filename);
}

function toCsv(rows) {
  const keys = rows.length ? Object.keys(rows[0]) : [];
  const cell = (v) => {
    const text = v === null || v === undefined ? "" : String(v);
    return /[",\r\n]/.test(text) ? '"' + text.replaceAll('"', '""') + '"' : text;
  };
  return [keys, ...rows.map((r) => keys.map((k) => r[k]))].map((line) => line.map(cell).join(",")).join("\r\n") + "\r\n";
}

function save(blob, filename) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}
