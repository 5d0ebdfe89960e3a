// Entry point: decides between the token form and the dashboard, routes
// between the overview and a device page, and feeds both from one live
// stream (so switching pages never reconnects or misses an update).

import { AlertBanner, AlertsPage, AlertStore } from "./alerts.js";
import { deleteSession, fetchDevices, fetchSession, UnauthorizedError } from "./api.js";
import { DevicePage } from "./device-page.js";
import { DeviceStore } from "./devices.js";
import { byId } from "./dom.js";
import { HeaderView } from "./header.js";
import { LoginView } from "./login.js";
import { createNotice } from "./notice.js";
import { OverviewPage } from "./overview.js";
import { parseRoute } from "./router.js";
import { LiveStream } from "./stream.js";

const MESSAGES = {
  loginFailed: "That token was not accepted. It may be mistyped, revoked or expired.",
  loginRefused: "A sign-in link opened from another site is not followed. Paste the link into the address bar, or enter the token here.",
  sessionEnded: "Your session has ended: the token was revoked or has expired. Enter a token to continue.",
  loggedOut: "You are logged out.",
  missed: "Some updates were missed while the connection was down; the values shown were reloaded.",
  logoutFailed: "Could not reach the hub to log out. Try again when the connection is back.",
};

const store = new DeviceStore();
const alerts = new AlertStore();
const banner = new AlertBanner(alerts);
const alertsPage = new AlertsPage(alerts);
const header = new HeaderView();
const overview = new OverviewPage(store, header, () => banner.decorateCards());
const devicePage = new DevicePage(store);
const login = new LoginView(() => enterDashboard(null));
const notice = createNotice();
/** @type {LiveStream|null} */
let stream = null;

byId("logout").addEventListener("click", logOut);
window.addEventListener("hashchange", () => stream && showRoute());
boot();

async function boot() {
  // `/?token=` redirects here with `?login=failed` when the hub refused the
  // token, `?login=refused` when another site sent the browser with it.
  const failure = takeLoginFailure();
  if (failure) {
    login.show(failure === "refused" ? MESSAGES.loginRefused : MESSAGES.loginFailed);
    return;
  }
  try {
    const session = await fetchSession();
    if (!session.authenticated) {
      login.show();
      return;
    }
    applySession(session);
    enterDashboard(await fetchDevices());
  } catch (error) {
    if (error instanceof UnauthorizedError) login.show();
    // Anything else (the hub restarting, say): the stream shows and retries it.
    else enterDashboard(null);
  }
}

/**
 * Removes `login=failed` or `login=refused` from the address bar, so a reload
 * doesn't repeat the message. Resolves to the value, or null.
 */
function takeLoginFailure() {
  const url = new URL(window.location.href);
  const value = url.searchParams.get("login");
  if (value !== "failed" && value !== "refused") return null;
  url.searchParams.delete("login");
  history.replaceState(history.state, "", url.pathname + url.search + url.hash);
  return value;
}

/**
 * The session's kind decides what the device page offers: forms to send
 * commands and edit desired state for a control session, none for a read one.
 * @param {import("./api.js").Session} session
 */
function applySession(session) {
  devicePage.setControl(session.authenticated && session.kind === "control");
}

/** Asks the hub about the session again; resolves false when it has ended. */
async function checkSession() {
  const session = await fetchSession();
  applySession(session);
  return session.authenticated;
}

/** @param {object|null} list  a device list already fetched, shown while the stream connects */
function enterDashboard(list) {
  byId("session-controls").hidden = false;
  // After the login form the session's kind is not known yet; until it is, no forms.
  if (!list) checkSession().catch(() => {});
  if (list) store.replace(list);
  overview.start();
  stream = new LiveStream("v1/stream", streamHandlers());
  stream.start();
  showRoute();
}

/** Shows the page the address names. */
function showRoute() {
  const route = parseRoute();
  if (route.page === "device") {
    overview.hide();
    alertsPage.hide();
    devicePage.show(route.name, route.params);
  } else if (route.page === "alerts") {
    overview.hide();
    devicePage.hide();
    alertsPage.show();
  } else {
    const cameFrom = devicePage.name;
    devicePage.hide();
    alertsPage.hide();
    overview.show(cameFrom);
  }
}

function leaveDashboard(message) {
  stream?.stop();
  stream = null;
  overview.stop();
  overview.hide();
  devicePage.hide();
  alertsPage.hide();
  devicePage.setControl(false);
  store.clear();
  alerts.clear();
  banner.render();
  notice.hide();
  byId("session-controls").hidden = true;
  login.show(message);
}

async function logOut(event) {
  const button = event.currentTarget;
  button.disabled = true;
  try {
    await deleteSession();
    leaveDashboard(MESSAGES.loggedOut);
  } catch {
    notice.show(MESSAGES.logoutFailed);
  } finally {
    button.disabled = false;
  }
}

/** @returns {import("./stream.js").StreamHandlers} */
function streamHandlers() {
  return {
    snapshot(list) {
      store.replace(list);
      alerts.replace(list.alerts);
      overview.snapshot();
      devicePage.snapshot();
      banner.render();
      alertsPage.render();
    },
    reading(data) {
      store.applyReading(data);
      overview.reading(data);
      devicePage.reading(data);
    },
    presence(data) {
      store.applyPresence(data);
      overview.presence(data);
      devicePage.presence(data);
    },
    alert(data) {
      alerts.apply(data);
      banner.render();
      alertsPage.changed();
    },
    command(data) {
      devicePage.command(data);
    },
    state(data) {
      store.applyState(data);
      overview.stateChanged(data);
      devicePage.deviceState(data);
    },
    reset() {
      notice.show(MESSAGES.missed);
      overview.reloadTrends();
      devicePage.reload();
    },
    resumed: refreshPresence,
    connection: (state, since) => header.setConnection(state, since),
    authorize: checkSession,
    unauthorized: () => leaveDashboard(MESSAGES.sessionEnded),
  };
}

/**
 * A resumed stream replays readings but not presence or state changes, so
 * after a reconnect the online badges and state versions are refreshed from
 * `GET /v1/devices`; history requests that failed during the outage are
 * retried too.
 */
async function refreshPresence() {
  overview.resumed();
  devicePage.resumed();
  const mark = store.presenceMark();
  try {
    const list = await fetchDevices();
    store.mergePresence(list, mark);
    overview.snapshot();
    devicePage.presence({ device: devicePage.name });
  } catch {
    // The stream reports connection trouble itself; a 401 ends it there too.
  }
}
