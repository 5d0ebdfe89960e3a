// The few HTTP calls the dashboard makes. Credentials travel only in the
// HttpOnly session cookie, which same-origin fetches send by themselves, so
// no script here ever holds a token after the login form hands it over.
// URLs are relative to the page so the hub also works behind a path prefix.

/** Raised for 401, so callers can tell "log in again" from "try again". */
export class UnauthorizedError extends Error {
  constructor() {
    super("unauthorized");
    this.name = "UnauthorizedError";
  }
}

/** `GET /v1/devices`: the device list, or UnauthorizedError without a session. */
export async function fetchDevices() {
  const response = await fetch("v1/devices", { headers: { Accept: "application/json" }, cache: "no-store" });
  return readJSON(response);
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
  const response = await fetch(`v1/alerts/history?limit=${limit}`, { headers: { Accept: "application/json" }, cache: "no-store" });
  return readJSON(response);
}

/** The CSV export link for one device over a range (the session cookie authorizes the download). */
export function exportHref(device, from, to) {
  return `v1/export.csv?${new URLSearchParams({ device, from: String(from), to: String(to) })}`;
}

/** `GET /v1/session`: whether the session cookie is valid. Never a 401, so no console noise. */
export async function hasSession() {
  const response = await fetch("v1/session", { headers: { Accept: "application/json" }, cache: "no-store" });
  return (await readJSON(response)).authenticated === true;
}

/** Exchanges a read token for the session cookie. Resolves to false when refused. */
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

async function readJSON(response) {
  if (response.status === 401) throw new UnauthorizedError();
  if (!response.ok) throw new Error(`${response.url}: HTTP ${response.status}`);
  return response.json();
}
