// The overview's device cards. Cards are created once per device and then
// updated in place, so that a value changing several times a second touches
// only its own text, and element identity (and any test or screen-reader
// reference to it, or keyboard focus) survives updates. Text goes in through
// textContent only.

import { compareNames, pendingDesired } from "./devices.js";
import { byId, cloneTemplate, part } from "./dom.js";
import { formatAgo, formatTime, isoTime, metricLabel, withUnit } from "./format.js";
import { deviceHash } from "./router.js";
import { renderSparkline } from "./sparkline.js";
import { TREND_WINDOW_MS } from "./trends.js";

/**
 * @typedef {import("./devices.js").Device} Device
 * @typedef {{element: HTMLElement, name: HTMLElement, value: HTMLElement, time: HTMLTimeElement, trend: HTMLElement}} MetricRow
 * @typedef {{article: HTMLElement, badge: HTMLElement, lastSeen: HTMLElement, pending: HTMLElement, list: HTMLElement,
 *            noMetrics: HTMLElement, metrics: Map<string, MetricRow>}} CardParts
 */

export class DeviceCards {
  #grid = byId("device-grid");
  /** @type {Map<string, CardParts>} */
  #cards = new Map();
  #query = "";
  #onMetric;

  /** @param {(device: string, metric: string) => void} onMetric  a card started showing a metric */
  constructor(onMetric) {
    this.#onMetric = onMetric;
  }

  get size() {
    return this.#cards.size;
  }

  /** Updates (or creates) one device's card; `order` places new cards. */
  update(device) {
    const card = this.#cards.get(device.name) ?? this.#create(device.name);
    card.article.dataset.online = String(device.online);
    card.badge.textContent = device.online ? "online" : "offline";
    setLastSeen(card, device.lastSeen, Date.now());
    setPending(card, device);
    for (const [metric, reading] of device.metrics) this.#setMetric(card, device.name, metric, reading);
    for (const [metric, row] of card.metrics) {
      if (!device.metrics.has(metric)) {
        row.element.remove();
        card.metrics.delete(metric);
      }
    }
    card.noMetrics.hidden = device.metrics.size > 0;
  }

  /** Drops the cards of devices not in `names` (deleted on the hub). */
  keepOnly(names) {
    for (const [name, card] of this.#cards) {
      if (!names.has(name)) {
        card.article.remove();
        this.#cards.delete(name);
      }
    }
  }

  /**
   * Puts cards in `devices` order, moving only the ones out of place: a move
   * is a remove and insert, which would take keyboard focus off a card.
   */
  order(devices) {
    let cursor = this.#grid.firstElementChild;
    for (const device of devices) {
      const article = this.#cards.get(device.name)?.article;
      if (!article) continue;
      if (article === cursor) cursor = cursor.nextElementSibling;
      else this.#grid.insertBefore(article, cursor);
    }
  }

  /** Shows only cards whose name contains `query` (case-insensitive); returns how many are shown. */
  filter(query) {
    this.#query = query.trim().toLocaleLowerCase();
    let shown = 0;
    for (const card of this.#cards.values()) if (this.#applyFilter(card)) shown += 1;
    return shown;
  }

  /** Redraws a device's sparklines from `trends` (see trends.js). */
  renderTrends(name, trends, now) {
    const card = this.#cards.get(name);
    if (!card) return;
    const window = { from: now - TREND_WINDOW_MS, to: now };
    for (const [metric, row] of card.metrics) renderSparkline(row.trend, trends.points(name, metric, now), window);
  }

  /** Refreshes every "last seen … ago"; called once a second. */
  tick(store) {
    const now = Date.now();
    for (const [name, card] of this.#cards) setLastSeen(card, store.get(name)?.lastSeen ?? null, now);
  }

  /** Puts focus on a device's card link (coming back from its page), if it is there. */
  focus(name) {
    const link = /** @type {HTMLElement|null|undefined} */ (this.#cards.get(name)?.article.querySelector(".device-link"));
    link?.focus();
    return Boolean(link);
  }

  names() {
    return this.#cards.keys();
  }

  clear() {
    this.#grid.replaceChildren();
    this.#cards.clear();
  }

  #applyFilter(card) {
    const match = this.#query === "" || card.article.dataset.device.toLocaleLowerCase().includes(this.#query);
    card.article.hidden = !match;
    return match;
  }

  #create(name) {
    const article = cloneTemplate("device-card-template");
    article.dataset.device = name;
    const link = /** @type {HTMLAnchorElement} */ (article.querySelector(".device-link"));
    link.textContent = name;
    link.href = deviceHash(name);
    const card = {
      article,
      badge: part(article, ".badge"),
      lastSeen: part(article, ".last-seen"),
      pending: part(article, ".card-pending"),
      list: part(article, ".metrics"),
      noMetrics: part(article, ".no-metrics"),
      metrics: new Map(),
    };
    this.#cards.set(name, card);
    this.#applyFilter(card);
    this.#grid.append(article);
    return card;
  }

  #setMetric(card, device, metric, reading) {
    const { ts, value, unit } = reading;
    let row = card.metrics.get(metric);
    if (!row) {
      row = createMetricRow(metric);
      card.metrics.set(metric, row);
      card.list.insertBefore(row.element, metricRowAfter(card, metric));
      this.#onMetric(device, metric);
    }
    // The label (`telehub metric set`) names the row; the metric's own name stays in the tooltip.
    const label = metricLabel(metric, reading);
    if (row.name.textContent !== label) row.name.textContent = label;
    row.value.textContent = withUnit(value, unit);
    row.value.dataset.value = String(value);
    row.time.textContent = formatTime(ts);
    row.time.dateTime = isoTime(ts);
  }
}

function createMetricRow(metric) {
  const element = cloneTemplate("metric-template");
  element.dataset.metricRow = metric;
  const name = part(element, ".metric-name");
  name.textContent = metric;
  name.title = metric;
  const value = part(element, ".metric-value");
  value.dataset.metric = metric;
  return { element, name, value, time: part(element, ".metric-time"), trend: part(element, ".metric-trend") };
}

function setLastSeen(card, lastSeen, now) {
  card.lastSeen.textContent = lastSeen === null ? "never seen" : `last seen ${formatAgo(lastSeen, now)}`;
  card.lastSeen.title = lastSeen === null ? "" : formatTime(lastSeen);
}

/** "Settings v9 not applied yet" while the device has not applied the newest desired state. */
function setPending(card, device) {
  const version = pendingDesired(device);
  card.pending.hidden = version === null;
  card.pending.textContent = version === null ? "" : `settings v${version} not applied yet`;
  card.article.dataset.pendingDesired = version === null ? "" : String(version);
}

/** Metric rows are ordered by name: the row a new metric goes before, or null to append. */
function metricRowAfter(card, metric) {
  for (const element of card.list.children) {
    if (compareNames(element.dataset.metricRow, metric) > 0) return element;
  }
  return null;
}
