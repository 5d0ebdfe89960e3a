// The few HTTP calls the dashboard makes. Credentials travel only in the
// HttpOnly session cookie, which same-origin fetches send by themselves, so
// no script here ever holds a token after the login form hands it over.
// URLs are relative to the page so the hub also works behind a path prefix.
// Changes (commands, desired state) carry the session's CSRF value in the
// `X-Telehub-CSRF` header: another site can make a browser send the cookie,
// never that header. The value comes from `GET /v1/session` and stays here.

/** Raised for 401, so callers can tell "log in again" from "try again". */
export class UnauthorizedError extends Error {
  constructor() {
    super("unauthorized");
    this.name = "UnauthorizedError";
  }
}

/**
 * Any other refusal: the HTTP status, and the hub's `{"error": code, "message": …}`
 * when it sent one (a 412 also carries the current `version`).
 */
export class HTTPError extends Error {
  /** @param {number} status  @param {string} url  @param {any} body */
  constructor(status, url, body) {
    super(body?.message ?? `${url}: HTTP ${status}`);
    this.name = "HTTPError";
    this.status = status;
    /** @type {string} */
    this.code = typeof body?.error === "string" ? body.error : "";
    this.body = body ?? {};
  }
}

/** @typedef {{authenticated: boolean, kind: "read"|"control"}} Session */

/**
 * What went wrong with a request, for a person: the hub's own message when
 * it refused (it names the field at fault), else the kind of failure.
 * @param {unknown} error
 */
export function failureText(error) {
  if (error instanceof UnauthorizedError) return "Your session has ended.";
  if (error instanceof HTTPError) {
    if (error.status === 404) return "The hub has no such device or command any more.";
    return error.body?.message ? `The hub said: ${error.body.message}` : `The hub answered HTTP ${error.status}.`;
  }
  return "Could not reach the hub. Check the connection and try again.";
}

/** @type {string|null} the session's CSRF value, from the last `GET /v1/session` */
let csrf = null;

/** `GET /v1/devices`: the device list, or UnauthorizedError without a session. */
export async function fetchDevices() {
  return getJSON("v1/devices");
}

/**
 * `GET /v1/devices/{name}/metrics/{metric}`: `{step: 0, points: [[ts, value]]}`
 * when the range fits in `points`, else `{step, points: [[start, avg, min, max, count]]}`.
 * @param {string} device
 * @param {string} metric
 * @param {{from: number, to: number, points: number, signal?: AbortSignal}} query
 */
export async function fetchHistory(device, metric, { from, to, points, signal }) {
  const path = `v1/devices/${encodeURIComponent(device)}/metrics/${encodeURIComponent(metric)}`;
  const query = new URLSearchParams({ from: String(from), to: String(to), points: String(points) });
  const response = await fetch(`${path}?${query}`, { headers: { Accept: "application/json" }, cache: "no-store", signal });
  return readJSON(response);
}

/** `GET /v1/alerts/history?limit=`: `{history: [...]}`, transitions and webhook deliveries, newest first. */
export async function fetchAlertHistory(limit) {
  return getJSON(`v1/alerts/history?limit=${limit}`);
}

/** The CSV export link for one device over a range (the session cookie authorizes the download). */
export function exportHref(device, from, to) {
  return `v1/export.csv?${new URLSearchParams({ device, from: String(from), to: String(to) })}`;
}

/**
 * `GET /v1/session`: whether the session cookie is valid, the kind of token
 * it was made from (only "control" may change anything). Keeps the CSRF
 * value for the changes below. Never a 401, so no console noise.
 * @returns {Promise<Session>}
 */
export async function fetchSession() {
  const session = await getJSON("v1/session");
  csrf = session.authenticated === true && typeof session.csrf === "string" ? session.csrf : null;
  return { authenticated: session.authenticated === true, kind: session.kind === "control" ? "control" : "read" };
}

/** Exchanges a read or control token for the session cookie. Resolves to false when refused. */
export async function createSession(token) {
  const response = await fetch("v1/session", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ token }),
  });
  if (response.status === 401) return false;
  await readJSON(response);
  return true;
}

/** Clears the session cookie on the hub (the browser can't: it is HttpOnly). */
export async function deleteSession() {
  const response = await fetch("v1/session", { method: "DELETE" });
  await readJSON(response);
}

/**
 * `GET /v1/devices/{name}/state`: `{desired: {version, state, updatedAt},
 * reported: {version, state, updatedAt, applied}, delta}`.
 * @param {string} device
 */
export async function fetchState(device) {
  return getJSON(`${devicePath(device)}/state`);
}

/**
 * `PUT /v1/devices/{name}/state/desired` with `If-Match` of the version the
 * object was read at. A change made meanwhile by someone else is not
 * overwritten: the hub answers 412 (HTTPError, code "version_mismatch",
 * `body.version` the current one).
 * @param {string} device  @param {object} state  @param {number} version
 * @returns {Promise<{version: number, state: object, updatedAt: number}>}
 */
export async function putDesired(device, state, version) {
  return change("PUT", `${devicePath(device)}/state/desired`, state, { "If-Match": `"${version}"` });
}

/** `GET /v1/devices/{name}/commands?limit=`: `{commands: [...]}`, newest first. */
export async function fetchCommands(device, limit) {
  return getJSON(`${devicePath(device)}/commands?limit=${limit}`);
}

/** `GET /v1/commands/{id}`: one command with its result. */
export async function fetchCommand(id) {
  return getJSON(`v1/commands/${encodeURIComponent(id)}`);
}

/**
 * `POST /v1/devices/{name}/commands`: the stored command (status "queued").
 * @param {string} device
 * @param {{name: string, args: object, ttl?: number, priority?: number}} command
 */
export async function sendCommand(device, command) {
  return change("POST", `${devicePath(device)}/commands`, command);
}

/** `DELETE /v1/commands/{id}`: the command, now "canceled"; HTTPError 409 "final" if it had ended. */
export async function cancelCommand(id) {
  return change("DELETE", `v1/commands/${encodeURIComponent(id)}`);
}

function devicePath(device) {
  return `v1/devices/${encodeURIComponent(device)}`;
}

async function getJSON(path) {
  const response = await fetch(path, { headers: { Accept: "application/json" }, cache: "no-store" });
  return readJSON(response);
}

/** A state-changing request with the session's CSRF value (and a JSON body, if any). */
async function change(method, path, body = undefined, extraHeaders = {}) {
  /** @type {Record<string, string>} */
  const headers = { Accept: "application/json", ...extraHeaders };
  if (csrf) headers["X-Telehub-CSRF"] = csrf;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store",
  });
  return readJSON(response);
}

async function readJSON(response) {
  if (response.status === 401) throw new UnauthorizedError();
  if (!response.ok) {
    const body = await response.json().catch(() => null);
    throw new HTTPError(response.status, response.url, body);
  }
  return response.json();
}
