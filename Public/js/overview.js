// The overview page: every device as a card with its latest values and a
// last-hour sparkline per metric, online devices first, a filter box, and
// the online/offline counts in the header. Fed by the live stream through
// app.js; it never polls.

import { byId, showView } from "./dom.js";
import { DeviceCards } from "./device-cards.js";
import { formatCount } from "./format.js";
import { createRenderQueue } from "./render-queue.js";
import { TrendStore } from "./trends.js";

/** Sparklines drift left with the clock; redrawing them this often is plenty for an hour-wide line. */
const TREND_REDRAW_MS = 30_000;

export class OverviewPage {
  #store;
  #header;
  #cards = new DeviceCards((device, metric) => this.#trends.want(device, metric));
  #trends = new TrendStore((device) => this.#render.device(device));
  #render = createRenderQueue((dirty, everything) => this.#flush(dirty, everything));
  #filter = /** @type {HTMLInputElement} */ (byId("device-filter"));
  #status = byId("filter-status");
  #empty = byId("empty-state");
  #noMatch = byId("no-match");
  #noMatchQuery = byId("no-match-query");
  #active = false;
  #scrollY = 0;
  #timers = [];

  #afterRender;

  /**
   * @param {import("./devices.js").DeviceStore} store  @param {import("./header.js").HeaderView} header
   * @param {() => void} afterRender  cards were updated (alerts mark them again)
   */
  constructor(store, header, afterRender = () => {}) {
    this.#store = store;
    this.#header = header;
    this.#afterRender = afterRender;
    this.#filter.addEventListener("input", () => this.#applyFilter());
    this.#filter.addEventListener("keydown", (event) => this.#filterKey(event));
    document.addEventListener("keydown", (event) => this.#shortcut(event));
  }

  /** Shows the page; `cameFrom` is the device page just left, whose card gets focus back. */
  show(cameFrom = null) {
    showView("dashboard-view");
    document.title = "Telehub";
    this.#active = true;
    this.#flush(new Set(), true);
    window.scrollTo(0, this.#scrollY);
    if (cameFrom) this.#cards.focus(cameFrom);
  }

  hide() {
    if (this.#active) this.#scrollY = window.scrollY;
    this.#active = false;
  }

  /** Starts the clocks: "last seen" ages every second, sparkline windows now and then. */
  start() {
    this.#timers = [
      setInterval(() => this.#active && this.#cards.tick(this.#store), 1000),
      setInterval(() => this.#render.all(), TREND_REDRAW_MS),
    ];
  }

  stop() {
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    this.#render.cancel();
    this.#trends.clear();
    this.#cards.clear();
    this.#filter.value = "";
    this.#scrollY = 0;
  }

  snapshot() {
    this.#trends.keepOnly(new Set(this.#store.sorted().map((device) => device.name)));
    this.#render.all();
  }

  /** A reading event, already applied to the store. */
  reading({ device, ts, metrics }) {
    for (const [metric, value] of Object.entries(metrics)) this.#trends.add(device, metric, ts, value);
    this.#render.device(device);
  }

  presence({ device }) {
    this.#render.device(device);
  }

  /** A `state` event, already applied to the store: the card's "not applied yet" line may change. */
  stateChanged({ device }) {
    this.#render.device(device);
  }

  /** The stream missed data: sparklines have holes, so they are fetched again. */
  reloadTrends() {
    this.#trends.reloadAll();
  }

  /** The stream is back after an outage: history requests that failed meanwhile are retried. */
  resumed() {
    this.#trends.retryFailed();
    this.#render.all();
  }

  #flush(dirty, everything) {
    this.#header.setCounts(this.#store.counts());
    if (!this.#active) return; // hidden: `show` renders everything
    const devices = this.#store.sorted();
    if (everything) this.#cards.keepOnly(new Set(devices.map((device) => device.name)));
    const now = Date.now();
    for (const device of devices) {
      if (!everything && !dirty.has(device.name)) continue;
      this.#cards.update(device);
      this.#cards.renderTrends(device.name, this.#trends, now);
    }
    this.#cards.order(devices);
    this.#applyFilter();
    this.#afterRender();
  }

  #applyFilter() {
    const total = this.#cards.size;
    const shown = this.#cards.filter(this.#filter.value);
    const filtering = this.#filter.value.trim() !== "";
    this.#empty.hidden = total > 0;
    this.#noMatch.hidden = !(filtering && total > 0 && shown === 0);
    this.#noMatchQuery.textContent = this.#filter.value.trim();
    this.#status.textContent = filtering && total > 0 ? `${formatCount(shown)} of ${formatCount(total)} shown` : "";
  }

  #filterKey(event) {
    if (event.key === "Escape" && this.#filter.value !== "") {
      this.#filter.value = "";
      this.#applyFilter();
    }
  }

  /** "/" jumps to the filter box, as on many sites, unless the user is typing somewhere. */
  #shortcut(event) {
    if (!this.#active || event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = /** @type {HTMLElement} */ (event.target);
    if (target.closest("input, textarea, select, [contenteditable]")) return;
    event.preventDefault();
    this.#filter.focus();
  }
}
