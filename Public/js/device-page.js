// The device page (`#/device/NAME`): one chart per metric over a chosen
// range, the latest readings, a CSV link, the device's desired and reported
// state and its commands (which a control session may also change). Charts
// load from the history endpoint with about one point per pixel; a live
// range then grows from the stream, and a zoom reloads just the zoomed span
// at finer resolution.

import { fetchHistory } from "./api.js";
import { MetricChart } from "./chart.js";
import { CommandsPanel } from "./commands-panel.js";
import { byId, showView } from "./dom.js";
import { loadDygraph } from "./dygraph-loader.js";
import { formatAgo, formatTime } from "./format.js";
import { RangeControls } from "./range-controls.js";
import { ReadingsTable } from "./readings-table.js";
import { deviceHash, replaceHash } from "./router.js";
import { Series } from "./series.js";
import { StatePanel } from "./state-panel.js";
import { customRange, PRESETS, rangeFromParams, rangeParams, sameRange, slide } from "./time-range.js";

/** The hub answers at most this many points; fewer than this is not worth a chart. */
const MAX_POINTS = 10000;
const MIN_POINTS = 60;

/**
 * @typedef {import("./time-range.js").TimeRange} TimeRange
 * @typedef {{chart: MetricChart, token: number, pending: Array<[number, number]>|null}} ChartSlot
 *          `pending` buffers live readings while the history request is out
 */

export class DevicePage {
  #store;
  #el = {
    head: byId("device-title").parentElement,
    title: byId("device-title"),
    badge: byId("device-badge"),
    lastSeen: byId("device-last-seen"),
    missing: byId("device-missing"),
    body: byId("device-body"),
    unavailable: byId("charts-unavailable"),
    charts: byId("charts"),
    noMetrics: byId("no-metrics"),
    template: /** @type {HTMLTemplateElement} */ (byId("chart-template")),
  };
  #controls = new RangeControls((range) => this.#choose(range));
  #table = new ReadingsTable(/** @type {HTMLTableElement} */ (byId("readings-table")),
    /** @type {HTMLTemplateElement} */ (byId("reading-row-template")), (metric) => this.#display(metric));
  #state = new StatePanel();
  #commands = new CommandsPanel();
  /** Whether the session may send commands and change desired state. */
  #control = false;
  /** @type {string|null} the device shown, null while the page is hidden */
  #name = null;
  /** @type {TimeRange|null} */
  #range = null;
  /** Ranges to go back to when a zoom is undone (double-click), newest last. */
  #zoomStack = [];
  /** @type {Map<string, ChartSlot>} */
  #slots = new Map();
  #Dygraph = null;
  #tokens = 0;
  #timers = [];
  #onTheme = () => this.#slots.forEach((slot) => slot.chart.applyTheme());

  /** @param {import("./devices.js").DeviceStore} store */
  constructor(store) {
    this.#store = store;
    matchMedia("(prefers-color-scheme: dark)").addEventListener("change", this.#onTheme);
  }

  get name() {
    return this.#name;
  }

  /** The session's kind is known (or changed): a control session gets the forms, a read one none. */
  setControl(control) {
    this.#control = control;
    if (this.#name === null) return;
    this.#state.setControl(control);
    this.#commands.setControl(control);
  }

  /** Shows device `name` over the range in the route's parameters. */
  async show(name, params) {
    const range = rangeFromParams(params);
    if (name === this.#name && this.#range && sameRange(range, this.#range)) return;
    const newDevice = name !== this.#name;
    if (newDevice) this.#enter(name);
    this.#zoomStack = [];
    this.#setRange(range);
    if (newDevice) await this.#startCharts();
  }

  hide() {
    if (this.#name === null) return;
    this.#name = null;
    this.#range = null;
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    this.#dropCharts();
    this.#table.clear();
    this.#state.hide();
    this.#commands.hide();
  }

  /** A new snapshot: the device may have appeared, vanished, or gained metrics. */
  snapshot() {
    if (this.#name === null) return;
    this.#renderHead();
    const device = this.#store.get(this.#name);
    // Keep the rows already received; seed only a table that has none yet.
    if (device && this.#table.empty) this.#table.reset(device.metrics);
    // The chart script may have failed only because the hub was down at the time.
    if (!this.#Dygraph) this.#startCharts();
    else this.#ensureCharts();
    for (const [metric, slot] of this.#slots) slot.chart.setDisplay(this.#display(metric));
    // Device lists that carry state versions tell whether the panel missed a change.
    if (device?.state) this.#state.changed({ device: device.name, ...device.state });
  }

  reading({ device, ts, metrics }) {
    if (device !== this.#name) return;
    this.#table.addReading(ts, metrics);
    this.#renderHead();
    for (const [metric, value] of Object.entries(metrics)) this.#addLive(metric, ts, value);
  }

  presence({ device }) {
    if (device === this.#name) this.#renderHead();
  }

  /** An `event: command`: a command's status changed. */
  command(event) {
    if (event.device === this.#name) this.#commands.event(event);
  }

  /** An `event: state`: a device's desired or reported state changed. */
  deviceState(event) {
    if (event.device === this.#name) this.#state.changed(event);
  }

  /** Data was missed (stream reset): every chart, the state and the commands are loaded again. */
  reload() {
    if (this.#name === null) return;
    if (this.#range) this.#loadAll();
    this.#state.reload();
    this.#commands.reload();
  }

  /**
   * The stream is back: charts whose request failed during the outage try
   * again; command and state changes in the gap are not replayed, so those
   * are loaded again.
   */
  resumed() {
    for (const [metric, slot] of this.#slots) if (slot.chart.state === "error") this.#load(metric, slot);
    if (this.#name === null) return;
    this.#state.reload();
    this.#commands.reload();
  }

  #enter(name) {
    this.hide();
    this.#name = name;
    showView("device-view");
    document.title = `${name} · Telehub`;
    this.#el.title.textContent = name;
    window.scrollTo(0, 0);
    this.#el.title.focus();
    const device = this.#store.get(name);
    if (device) this.#table.reset(device.metrics);
    this.#renderHead();
    this.#timers.push(setInterval(() => this.#renderHead(), 1000));
    this.#timers.push(setInterval(() => this.#slide(), 1000));
    this.#state.show(name, this.#control);
    this.#commands.show(name, this.#control);
  }

  async #startCharts() {
    const name = this.#name;
    const Dygraph = await loadDygraph();
    if (name !== this.#name) return; // left the page while the script loaded
    this.#Dygraph = Dygraph;
    this.#el.unavailable.hidden = Dygraph !== null;
    this.#ensureCharts();
  }

  /** Creates a chart for each metric the device has that lacks one, and loads it. */
  #ensureCharts() {
    const device = this.#store.get(this.#name);
    const metrics = device ? [...device.metrics.keys()].sort() : [];
    this.#el.noMetrics.hidden = !device || metrics.length > 0;
    if (!this.#Dygraph || !this.#range) return;
    for (const metric of metrics) if (!this.#slots.has(metric)) this.#addChart(metric);
  }

  #addChart(metric) {
    const chart = new MetricChart(this.#el.template, metric, this.#Dygraph, {
      zoom: (from, to) => this.#zoomTo(from, to),
      unzoom: () => this.#unzoom(),
    }, this.#display(metric));
    const slot = { chart, token: 0, pending: null };
    this.#slots.set(metric, slot);
    const after = [...this.#slots.keys()].sort().find((other) => other > metric);
    this.#el.charts.insertBefore(chart.panel, after ? this.#slots.get(after).chart.panel : null);
    this.#el.noMetrics.hidden = true;
    this.#load(metric, slot);
  }

  #dropCharts() {
    this.#tokens += 1;
    for (const slot of this.#slots.values()) slot.chart.destroy();
    this.#slots.clear();
  }

  /** A preset button or the custom form: starts a fresh zoom history. */
  #choose(range) {
    this.#zoomStack = [];
    this.#setRange(range);
  }

  #zoomTo(from, to) {
    const range = customRange(from, to);
    if (!range || !this.#range) return;
    this.#zoomStack.push(this.#range);
    this.#setRange(range);
  }

  /** Double-click: back to the range before the last zoom, or just the whole current range. */
  #unzoom() {
    const previous = this.#zoomStack.pop();
    if (previous) this.#setRange(slide(previous));
    else this.#slots.forEach((slot) => slot.chart.slide(this.#range));
  }

  #setRange(range) {
    this.#range = range;
    replaceHash(deviceHash(this.#name, rangeParams(range)));
    this.#controls.show(this.#name, range);
    this.#loadAll();
  }

  #loadAll() {
    this.#range = slide(this.#range);
    for (const [metric, slot] of this.#slots) this.#load(metric, slot);
  }

  /** Loads one chart for the current range; an answer for an older request is dropped. */
  async #load(metric, slot) {
    const token = ++this.#tokens;
    slot.token = token;
    slot.pending = [];
    const range = this.#range;
    const points = pointsFor(slot.chart.panel);
    slot.chart.loading(range, points);
    let answer;
    try {
      answer = await fetchHistory(this.#name, metric, { from: range.from, to: range.to, points });
    } catch {
      if (slot.token === token) slot.chart.failed();
      return;
    }
    if (slot.token !== token) return;
    const series = new Series(answer, { from: range.from, to: range.to, points });
    // Readings that arrived during the request; a raw value the answer already has is simply overwritten.
    if (range.live) for (const [ts, value] of slot.pending) if (ts > range.from) series.add(ts, value);
    slot.pending = null;
    slot.chart.show(series);
  }

  #addLive(metric, ts, value) {
    const slot = this.#slots.get(metric);
    if (!slot) {
      this.#ensureCharts(); // a metric this device never sent before
      return;
    }
    if (slot.pending) slot.pending.push([ts, value]);
    else slot.chart.add(ts, value);
  }

  /** A metric's label and unit, as the device list gives them (`telehub metric set`). */
  #display(metric) {
    return this.#name === null ? undefined : this.#store.get(this.#name)?.metrics.get(metric);
  }

  /** Moves a live range along with the clock, in steps of about a pixel. */
  #slide() {
    const range = this.#range;
    if (!range?.live) return;
    const step = Math.max(1000, PRESETS[range.key] / 1000);
    if (Date.now() - range.to < step) return;
    this.#range = slide(range);
    this.#slots.forEach((slot) => slot.chart.slide(this.#range));
  }

  #renderHead() {
    const device = this.#store.get(this.#name);
    // Before the first snapshot an unknown name may just not be loaded yet.
    const missing = !device && this.#store.loaded;
    this.#el.missing.hidden = !missing;
    this.#el.body.hidden = missing;
    this.#el.head.dataset.online = String(device?.online ?? false);
    this.#el.badge.hidden = !device;
    this.#el.badge.textContent = device?.online ? "online" : "offline";
    const lastSeen = device?.lastSeen ?? null;
    this.#el.lastSeen.textContent = device ? (lastSeen === null ? "never seen" : `last seen ${formatAgo(lastSeen)}`) : "";
    this.#el.lastSeen.title = lastSeen === null ? "" : formatTime(lastSeen);
  }
}

/** About one point per pixel of the chart's width, within what the hub allows. */
function pointsFor(panel) {
  const width = panel.querySelector(".chart")?.clientWidth || 600;
  return Math.max(MIN_POINTS, Math.min(MAX_POINTS, Math.round(width)));
}
