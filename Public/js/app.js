// Entry point: decides between the token form and the dashboard, and wires
// the live stream to the device model and the view.

import { deleteSession, fetchDevices, hasSession, UnauthorizedError } from "./api.js";
import { DeviceStore } from "./devices.js";
import { LoginView } from "./login.js";
import { LiveStream } from "./stream.js";
import { byId, DashboardView, HeaderView, showView } from "./view.js";

const MESSAGES = {
  loginFailed: "That token was not accepted. It may be mistyped, revoked or expired.",
  sessionEnded: "Your session has ended: the token was revoked or has expired. Enter a read token to continue.",
  loggedOut: "You are logged out.",
  missed: "Some updates were missed while the connection was down; the values shown were reloaded.",
  logoutFailed: "Could not reach the hub to log out. Try again when the connection is back.",
};

const store = new DeviceStore();
const dashboard = new DashboardView();
const header = new HeaderView();
const login = new LoginView(() => enterDashboard(null));
const render = createRenderQueue();
const notice = createNotice();
/** @type {LiveStream|null} */
let stream = null;
let ticker = 0;

byId("logout").addEventListener("click", logOut);
boot();

async function boot() {
  // `/?token=` redirects here with `?login=failed` when the hub refused the token.
  if (takeLoginFailure()) {
    login.show(MESSAGES.loginFailed);
    return;
  }
  try {
    if (!(await hasSession())) {
      login.show();
      return;
    }
    enterDashboard(await fetchDevices());
  } catch (error) {
    if (error instanceof UnauthorizedError) login.show();
    // Anything else (the hub restarting, say): the stream shows and retries it.
    else enterDashboard(null);
  }
}

/** Removes `login=failed` from the address bar, so a reload doesn't repeat the message. */
function takeLoginFailure() {
  const url = new URL(window.location.href);
  if (url.searchParams.get("login") !== "failed") return false;
  url.searchParams.delete("login");
  history.replaceState(history.state, "", url.pathname + url.search + url.hash);
  return true;
}

/** @param {object|null} list  a device list already fetched, shown while the stream connects */
function enterDashboard(list) {
  showView("dashboard-view");
  byId("session-controls").hidden = false;
  if (list) {
    store.replace(list);
    render.all();
  }
  stream = new LiveStream("v1/stream", streamHandlers());
  stream.start();
  ticker = setInterval(() => dashboard.tick(store), 1000);
}

function leaveDashboard(message) {
  stream?.stop();
  stream = null;
  clearInterval(ticker);
  render.cancel();
  store.replace({ devices: [] });
  dashboard.clear();
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
      render.all();
    },
    reading(data) {
      render.device(store.applyReading(data).name);
    },
    presence(data) {
      render.device(store.applyPresence(data).name);
    },
    reset: () => notice.show(MESSAGES.missed),
    resumed: refreshPresence,
    state: (state, since) => header.setConnection(state, since),
    authorize: hasSession,
    unauthorized: () => leaveDashboard(MESSAGES.sessionEnded),
  };
}

/**
 * A resumed stream replays readings but not presence changes, so after a
 * reconnect the online badges are refreshed from `GET /v1/devices`.
 */
async function refreshPresence() {
  const mark = store.presenceMark();
  try {
    store.mergePresence(await fetchDevices(), mark);
    render.all();
  } catch {
    // The stream reports connection trouble itself; a 401 ends it there too.
  }
}

/**
 * Coalesces updates into one DOM pass per animation frame: a busy hub can
 * send many readings per frame, and a hidden tab then does no work at all.
 */
function createRenderQueue() {
  const dirty = new Set();
  let everything = false;
  let frame = 0;

  function flush() {
    frame = 0;
    if (everything) dashboard.renderAll(store.sorted());
    else for (const name of dirty) renderOne(name);
    dirty.clear();
    everything = false;
    header.setCounts(store.counts());
  }

  function renderOne(name) {
    const device = store.get(name);
    if (device) dashboard.renderDevice(device);
  }

  function request() {
    frame ||= requestAnimationFrame(flush);
  }

  return {
    device(name) {
      dirty.add(name);
      request();
    },
    all() {
      everything = true;
      request();
    },
    cancel() {
      cancelAnimationFrame(frame);
      frame = 0;
      dirty.clear();
      everything = false;
    },
  };
}

/** The dismissible line above the grid, for things the user should know once. */
function createNotice() {
  const element = byId("notice");
  const text = byId("notice-text");
  byId("notice-dismiss").addEventListener("click", () => {
    element.hidden = true;
  });
  return {
    show(message) {
      text.textContent = message;
      element.hidden = false;
    },
    hide() {
      element.hidden = true;
    },
  };
}
