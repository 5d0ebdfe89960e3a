// The live stream (`GET /v1/stream`, Server-Sent Events) and the connection
// state shown in the header.
//
// EventSource reconnects by itself after a dropped connection, sending
// Last-Event-ID so the hub replays what we missed. It gives up for good when
// the hub answers with an HTTP error (a 401 after the token was revoked, a
// 503 while restarting); then we ask `authorize` whether the session is still
// valid, and either report `unauthorized` or open a new EventSource that
// resumes from the last id we saw (`?lastEventId=`), backing off each time.

/** After this long without a connection, "reconnecting…" becomes "offline since …". */
const OFFLINE_AFTER_MS = 5000;
const RETRY_FIRST_MS = 2000;
const RETRY_MAX_MS = 30000;
const EVENTS = ["snapshot", "reading", "presence", "alert", "command", "state", "reset"];

/**
 * @typedef {"connecting"|"live"|"reconnecting"|"offline"} ConnectionState
 * @typedef {object} StreamHandlers
 * @property {(data: object) => void} snapshot
 * @property {(data: object) => void} reading
 * @property {(data: object) => void} presence
 * @property {(data: object) => void} alert
 * @property {(data: object) => void} command   a command's status changed
 * @property {(data: object) => void} state     a device's desired or reported state changed
 * @property {() => void} reset
 * @property {() => void} resumed      reopened without a snapshot: presence, command and state changes in the gap were not replayed
 * @property {(state: ConnectionState, since: number|null) => void} connection
 * @property {() => Promise<boolean>} authorize  resolves false when the session is gone
 * @property {() => void} unauthorized
 */

export class LiveStream {
  #url;
  /** @type {StreamHandlers} */
  #on;
  /** @type {EventSource|null} */
  #source = null;
  #lastEventId = null;
  #opened = false;
  #lostAt = null;
  #offlineTimer = 0;
  #retryTimer = 0;
  #retryDelay = RETRY_FIRST_MS;
  #running = false;
  #onBrowserOffline = () => this.#showOffline();

  /** @param {string} url  @param {StreamHandlers} handlers */
  constructor(url, handlers) {
    this.#url = url;
    this.#on = handlers;
  }

  start() {
    this.#running = true;
    this.#on.connection("connecting", null);
    window.addEventListener("offline", this.#onBrowserOffline);
    this.#open();
  }

  stop() {
    this.#running = false;
    window.removeEventListener("offline", this.#onBrowserOffline);
    clearTimeout(this.#offlineTimer);
    clearTimeout(this.#retryTimer);
    this.#source?.close();
    this.#source = null;
  }

  #open() {
    const url = new URL(this.#url, document.baseURI);
    if (this.#lastEventId !== null) url.searchParams.set("lastEventId", this.#lastEventId);
    const source = new EventSource(url);
    source.addEventListener("open", () => this.#connected());
    source.addEventListener("error", () => this.#failed(source));
    for (const name of EVENTS) source.addEventListener(name, (event) => this.#dispatch(name, event));
    this.#source = source;
  }

  #dispatch(name, event) {
    // Events without an `id:` line (presence, command, state, reset) keep the previous id here.
    if (event.lastEventId) this.#lastEventId = event.lastEventId;
    let data;
    try {
      data = event.data ? JSON.parse(event.data) : {};
    } catch {
      console.warn(`telehub: ignored a ${name} event that is not JSON`);
      return;
    }
    this.#on[name](data);
  }

  #connected() {
    clearTimeout(this.#offlineTimer);
    const resumed = this.#opened;
    this.#opened = true;
    this.#lostAt = null;
    this.#retryDelay = RETRY_FIRST_MS;
    this.#on.connection("live", null);
    if (resumed) this.#on.resumed();
  }

  #failed(source) {
    if (!this.#running || source !== this.#source) return;
    this.#lost();
    // CONNECTING: the browser retries by itself. CLOSED: it gave up.
    if (source.readyState === EventSource.CLOSED) {
      source.close();
      this.#retryAfterCheck();
    }
  }

  #lost() {
    if (this.#lostAt !== null) return;
    this.#lostAt = Date.now();
    this.#on.connection(this.#opened ? "reconnecting" : "connecting", null);
    this.#offlineTimer = setTimeout(() => this.#showOffline(), OFFLINE_AFTER_MS);
  }

  #showOffline() {
    // The browser's "offline" event can come before the stream notices; an open stream is still live.
    if (!this.#running || this.#source?.readyState === EventSource.OPEN) return;
    this.#lostAt ??= Date.now();
    clearTimeout(this.#offlineTimer);
    this.#on.connection("offline", this.#lostAt);
  }

  async #retryAfterCheck() {
    let authorized = true;
    try {
      authorized = await this.#on.authorize();
    } catch {
      // The hub is unreachable; that is no reason to think the session ended.
    }
    if (!this.#running) return;
    if (!authorized) {
      this.stop();
      this.#on.unauthorized();
      return;
    }
    this.#retryTimer = setTimeout(() => this.#open(), this.#retryDelay);
    this.#retryDelay = Math.min(this.#retryDelay * 2, RETRY_MAX_MS);
  }
}
