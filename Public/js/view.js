// Rendering of the dashboard. Cards are created once per device and then
// updated in place, so that a value changing several times a second touches
// only its own text, and element identity (and any test or screen-reader
// reference to it) survives updates. Text goes in through textContent only.

import { compareNames } from "./devices.js";
import { formatAgo, formatClock, formatTime, formatValue, isoTime } from "./format.js";

const CONNECTION_TEXT = {
  connecting: () => "connecting…",
  live: () => "live",
  reconnecting: () => "reconnecting…",
  offline: (since) => `offline since ${formatClock(since)}`,
};

/**
 * @typedef {{element: HTMLElement, value: HTMLElement, time: HTMLTimeElement}} MetricRow
 * @typedef {{article: HTMLElement, badge: HTMLElement, lastSeen: HTMLElement, list: HTMLElement,
 *            noMetrics: HTMLElement, metrics: Map<string, MetricRow>}} CardParts
 */

/** The device grid. */
export class DashboardView {
  #grid = byId("device-grid");
  #empty = byId("empty-state");
  #cardTemplate = /** @type {HTMLTemplateElement} */ (byId("device-card-template"));
  #metricTemplate = /** @type {HTMLTemplateElement} */ (byId("metric-template"));
  /** @type {Map<string, CardParts>} */
  #cards = new Map();

  /** Rebuilds the grid for a new snapshot: drops cards of vanished devices, orders the rest. */
  renderAll(devices) {
    const names = new Set(devices.map((device) => device.name));
    for (const [name, card] of this.#cards) {
      if (!names.has(name)) {
        card.article.remove();
        this.#cards.delete(name);
      }
    }
    for (const device of devices) this.#grid.append(this.#update(device));
    this.#empty.hidden = devices.length > 0;
  }

  /** Updates one device's card, inserting a new card at its place in name order. */
  renderDevice(device) {
    const isNew = !this.#cards.has(device.name);
    const article = this.#update(device);
    if (isNew) this.#grid.insertBefore(article, this.#cardAfter(device.name));
    this.#empty.hidden = true;
  }

  /** Refreshes every "last seen … ago"; called once a second. */
  tick(store) {
    const now = Date.now();
    for (const [name, card] of this.#cards) setLastSeen(card, store.get(name)?.lastSeen ?? null, now);
  }

  clear() {
    this.#grid.replaceChildren();
    this.#cards.clear();
    this.#empty.hidden = true;
  }

  #update(device) {
    const card = this.#cards.get(device.name) ?? this.#createCard(device.name);
    card.article.dataset.online = String(device.online);
    card.badge.textContent = device.online ? "online" : "offline";
    setLastSeen(card, device.lastSeen, Date.now());
    for (const [metric, reading] of device.metrics) this.#setMetric(card, metric, reading);
    for (const [metric, row] of card.metrics) {
      if (!device.metrics.has(metric)) {
        row.element.remove();
        card.metrics.delete(metric);
      }
    }
    card.noMetrics.hidden = device.metrics.size > 0;
    return card.article;
  }

  #createCard(name) {
    const article = /** @type {HTMLElement} */ (this.#cardTemplate.content.firstElementChild.cloneNode(true));
    article.dataset.device = name;
    const card = {
      article,
      badge: article.querySelector(".badge"),
      lastSeen: article.querySelector(".last-seen"),
      list: article.querySelector(".metrics"),
      noMetrics: article.querySelector(".no-metrics"),
      metrics: new Map(),
    };
    article.querySelector(".device-name").textContent = name;
    this.#cards.set(name, card);
    return card;
  }

  #setMetric(card, metric, { ts, value }) {
    let row = card.metrics.get(metric);
    if (!row) {
      row = this.#createMetricRow(metric);
      card.metrics.set(metric, row);
      card.list.insertBefore(row.element, metricRowAfter(card, metric));
    }
    row.value.textContent = formatValue(value);
    row.value.dataset.value = String(value);
    row.time.textContent = formatTime(ts);
    row.time.dateTime = isoTime(ts);
  }

  #createMetricRow(metric) {
    const element = /** @type {HTMLElement} */ (this.#metricTemplate.content.firstElementChild.cloneNode(true));
    element.dataset.metricRow = metric;
    element.querySelector(".metric-name").textContent = metric;
    const value = element.querySelector(".metric-value");
    value.dataset.metric = metric;
    return { element, value, time: element.querySelector(".metric-time") };
  }

  /** The first card whose name sorts after `name`, or null to append. */
  #cardAfter(name) {
    for (const article of this.#grid.children) {
      if (compareNames(article.dataset.device, name) > 0) return article;
    }
    return null;
  }
}

/** The header: connection indicator and device counts. */
export class HeaderView {
  #connection = byId("connection-state");
  #online = byId("count-online");
  #offline = byId("count-offline");

  setConnection(state, since) {
    this.#connection.dataset.state = state;
    this.#connection.textContent = CONNECTION_TEXT[state](since);
    document.body.dataset.connection = state;
  }

  setCounts({ online, offline }) {
    this.#online.textContent = String(online);
    this.#offline.textContent = String(offline);
  }
}

/** Shows `element` (by id) and hides its siblings; the page has one view at a time. */
export function showView(id) {
  for (const view of document.querySelectorAll("[data-view]")) view.hidden = view.id !== id;
}

export function byId(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`index.html lacks #${id}`);
  return element;
}

function setLastSeen(card, lastSeen, now) {
  card.lastSeen.textContent = lastSeen === null ? "never seen" : `last seen ${formatAgo(lastSeen, now)}`;
  card.lastSeen.title = lastSeen === null ? "" : formatTime(lastSeen);
}

/** Metric rows are ordered by name too: the row a new metric goes before, or null to append. */
function metricRowAfter(card, metric) {
  for (const element of card.list.children) {
    if (compareNames(element.dataset.metricRow, metric) > 0) return element;
  }
  return null;
}
