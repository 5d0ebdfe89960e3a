// Hash routes, so the one index.html serves every page and the hub needs no
// route per page: `#/` is the overview, `#/device/NAME?range=24h` a device.
// Query parameters after the path keep a page's state (its time range) in
// the address, so a reload or a shared link shows the same thing.

/**
 * @typedef {{page: "overview"}} OverviewRoute
 * @typedef {{page: "device", name: string, params: URLSearchParams}} DeviceRoute
 * @typedef {{page: "alerts"}} AlertsRoute
 * @typedef {OverviewRoute|DeviceRoute|AlertsRoute} Route
 */

/** @returns {Route} */
export function parseRoute(hash = window.location.hash) {
  const [path, query = ""] = hash.replace(/^#/, "").split("?", 2);
  if (/^\/alerts\/?$/.test(path)) return { page: "alerts" };
  const match = /^\/device\/([^/]+)\/?$/.exec(path);
  if (!match) return { page: "overview" };
  let name;
  try {
    name = decodeURIComponent(match[1]);
  } catch {
    return { page: "overview" };
  }
  return { page: "device", name, params: new URLSearchParams(query) };
}

/** The hash of a device page, with optional state parameters. */
export function deviceHash(name, params = null) {
  const query = params && [...params.keys()].length ? `?${params}` : "";
  return `#/device/${encodeURIComponent(name)}${query}`;
}

/**
 * Records page state in the address without a new history entry (a range
 * change should not make Back step through every range tried) and without
 * a hashchange event (the page already shows that state).
 */
export function replaceHash(hash) {
  if (window.location.hash !== hash) history.replaceState(history.state, "", hash);
}
