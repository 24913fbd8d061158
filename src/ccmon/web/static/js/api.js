// The one way the pages talk to the server: GET /api/v1/..., with the API token when the server asks for one.

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

export function url(path, params) {
  const query = params ? new URLSearchParams(params).toString() : "";
  return "/api/v1/" + path + (query ? "?" + query : "");
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
  if (!response.ok) {
    let detail = response.statusText;
    try {
      const body = await response.json();
      detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
    } catch {
      // not JSON: keep the status text
    }
    throw new ApiError(response.status, detail);
  }
  return response;
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
