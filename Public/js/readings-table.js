// The device page's "Latest readings": the newest values first, one row per
// metric value, seeded with the device's latest values and then fed from
// the live stream. Bounded, so a chatty device can't grow the page.

import { formatTime, isoTime, metricLabel, withUnit } from "./format.js";
import { part } from "./dom.js";

const MAX_ROWS = 20;

/** @typedef {(metric: string) => import("./devices.js").MetricValue|undefined} DisplayLookup */

export class ReadingsTable {
  #body;
  #template;
  #displayOf;

  /**
   * @param {HTMLTableElement} table  @param {HTMLTemplateElement} template  `#reading-row-template`
   * @param {DisplayLookup} displayOf  a metric's label and unit, as the device list gives them
   */
  constructor(table, template, displayOf) {
    this.#body = table.tBodies[0];
    this.#template = template;
    this.#displayOf = displayOf;
  }

  /** Starts over from a device's latest values (`metrics` as in `GET /v1/devices/{name}`). */
  reset(metrics) {
    const entries = [...metrics].sort(([, a], [, b]) => a.ts - b.ts);
    this.#body.replaceChildren();
    for (const [metric, { ts, value }] of entries) this.add(ts, metric, value);
  }

  /** Puts one value at the top, dropping the oldest beyond MAX_ROWS. */
  add(ts, metric, value) {
    const row = /** @type {HTMLTableRowElement} */ (this.#template.content.firstElementChild.cloneNode(true));
    const time = row.querySelector("time");
    time.textContent = formatTime(ts);
    time.dateTime = isoTime(ts);
    const display = this.#displayOf(metric);
    const name = part(row, ".metric-cell");
    name.textContent = metricLabel(metric, display);
    if (name.textContent !== metric) name.title = metric;
    const cell = part(row, ".value-cell");
    cell.textContent = withUnit(value, display?.unit);
    cell.dataset.value = String(value);
    row.dataset.metric = metric;
    row.dataset.ts = String(ts);
    this.#body.prepend(row);
    while (this.#body.rows.length > MAX_ROWS) this.#body.lastElementChild.remove();
  }

  /** A reading event's values, in metric-name order within the one timestamp. */
  addReading(ts, metrics) {
    const names = Object.keys(metrics).sort().reverse();
    for (const name of names) this.add(ts, name, metrics[name]);
  }

  get empty() {
    return this.#body.rows.length === 0;
  }

  clear() {
    this.#body.replaceChildren();
  }
}
