// Alerts on the dashboard: the model (fed by the stream's snapshot and
// `alert` events), the banner of firing alerts at the top of the overview,
// the marks on device cards, and the alerts page (`#/alerts`) with every
// rule's state and the recent history with webhook outcomes.

import { fetchAlertHistory, UnauthorizedError } from "./api.js";
import { byId, showView } from "./dom.js";
import { formatAgo, formatTime, formatValue, isoTime, metricLabel, withUnit } from "./format.js";

const SEVERITY_ORDER = { critical: 0, warning: 1 };

/**
 * @typedef {{id: number, name: string, device: string|null, metric: string|null, severity: string,
 *            condition: string, state: "ok"|"pending"|"firing", since: number|null, value: number|null,
 *            unit?: string, label?: string}} Alert
 */

export class AlertStore {
  /** @type {Map<string, Alert>} rule id and device → its state */
  #alerts = new Map();

  /** The snapshot's `alerts`: the whole truth as of its stream id. */
  replace(list) {
    this.#alerts = new Map((list ?? []).map((alert) => [key(alert.id, alert.device), alert]));
  }

  clear() {
    this.#alerts = new Map();
  }

  /** An `alert` event: a rule fired or resolved for a device. */
  apply(event) {
    const existing = this.#alerts.get(key(event.id, event.device));
    // A '*' rule that had seen no device yet is listed once without one; a device's entry replaces it.
    /** @type {{severity: string, condition: string, unit?: string, label?: string}} */
    const template = existing ?? this.#alerts.get(key(event.id, null)) ?? { severity: "warning", condition: "" };
    this.#alerts.delete(key(event.id, null));
    this.#alerts.set(key(event.id, event.device), {
      ...template,
      id: event.id,
      name: event.name,
      device: event.device,
      metric: event.metric,
      state: event.state === "firing" ? "firing" : "ok",
      since: event.ts,
      value: event.value,
      unit: event.unit ?? template.unit,
      label: event.label ?? template.label,
    });
  }

  /** Firing alerts, critical first, then the longest-firing. */
  firing() {
    return this.all()
      .filter((alert) => alert.state === "firing")
      .sort((a, b) => (SEVERITY_ORDER[a.severity] ?? 2) - (SEVERITY_ORDER[b.severity] ?? 2) || (a.since ?? 0) - (b.since ?? 0));
  }

  /** Every rule's state per device: firing, pending, then ok; by name within each. */
  all() {
    const order = { firing: 0, pending: 1, ok: 2 };
    return [...this.#alerts.values()].sort((a, b) => order[a.state] - order[b.state] || a.name.localeCompare(b.name)
      || (a.device ?? "").localeCompare(b.device ?? ""));
  }

  /** The most severe firing alert of a device, or undefined. */
  worstFor(device) {
    return this.firing().find((alert) => alert.device === device);
  }
}

function key(id, device) {
  return `${id}\u0000${device ?? ""}`;
}

function describe(alert) {
  const what = alert.metric ? `${metricLabel(alert.metric, alert)} ${withUnit(alert.value, alert.unit)}` : "silent";
  return `${alert.device ?? "every device"} · ${what.trim()}`;
}

/** The banner at the top of the overview and the marks on device cards. */
export class AlertBanner {
  #store;
  #banner = byId("alert-banner");
  #list = byId("alert-list");
  #count = byId("alert-count");

  /** @param {AlertStore} store */
  constructor(store) {
    this.#store = store;
  }

  render(now = Date.now()) {
    const firing = this.#store.firing();
    this.#banner.hidden = firing.length === 0;
    this.#count.textContent = firing.length ? String(firing.length) : "";
    this.#count.hidden = firing.length === 0;
    this.#list.replaceChildren(...firing.map((alert) => {
      const item = document.createElement("li");
      item.className = "alert-item";
      item.dataset.severity = alert.severity;
      item.dataset.alert = alert.name;
      item.dataset.device = alert.device ?? "";
      const name = document.createElement("strong");
      name.textContent = alert.name;
      const detail = document.createElement("span");
      detail.className = "alert-detail";
      detail.textContent = describe(alert);
      const since = document.createElement("time");
      since.className = "alert-since";
      if (alert.since) {
        since.dateTime = isoTime(alert.since);
        since.textContent = `since ${formatTime(alert.since)} (${formatAgo(alert.since, now)})`;
      }
      item.append(name, detail, since);
      return item;
    }));
    this.decorateCards();
  }

  /** Marks the cards of devices with a firing alert, in the alert's severity colour. */
  decorateCards() {
    for (const card of document.querySelectorAll("article.device-card")) {
      const element = /** @type {HTMLElement} */ (card);
      const alert = this.#store.worstFor(element.dataset.device);
      let line = element.querySelector(".card-alert");
      if (!alert) {
        delete element.dataset.alert;
        line?.remove();
        continue;
      }
      element.dataset.alert = alert.severity;
      if (!line) {
        line = document.createElement("p");
        line.className = "card-alert";
        element.querySelector(".card-head")?.after(line);
      }
      line.textContent = `${alert.name}: ${withUnit(alert.value, alert.unit) || "silent"}`;
    }
  }
}

/** `#/alerts`: every rule with its state, and the recent transitions and deliveries. */
export class AlertsPage {
  #store;
  #rules = byId("alert-rules").querySelector("tbody");
  #history = byId("alert-history").querySelector("tbody");
  #empty = byId("alerts-empty");
  #historyStatus = byId("alert-history-status");
  #active = false;
  #reloadTimer = 0;
  #pollTimer = 0;

  /** @param {AlertStore} store */
  constructor(store) {
    this.#store = store;
  }

  show() {
    showView("alerts-view");
    document.title = "Alerts · Telehub";
    this.#active = true;
    this.render();
    this.reloadHistory();
    // Delivery outcomes (retries, dead letters) change without an alert event: look again now and then.
    clearInterval(this.#pollTimer);
    this.#pollTimer = setInterval(() => this.reloadHistory(), 5000);
  }

  hide() {
    this.#active = false;
    clearInterval(this.#pollTimer);
  }

  render() {
    if (!this.#active) return;
    const alerts = this.#store.all();
    this.#empty.hidden = alerts.length > 0;
    this.#rules.replaceChildren(...alerts.map((alert) => row([
      alert.name, alert.device ?? "every device", alert.metric ? metricLabel(alert.metric, alert) : "–", alert.condition,
      { text: alert.state, state: alert.state, severity: alert.severity },
      alert.since ? formatTime(alert.since) : "", withUnit(alert.value, alert.unit),
    ], { alert: alert.name, device: alert.device ?? "" })));
  }

  /** An alert event arrived: its transition and delivery show up in the history shortly. */
  changed() {
    this.render();
    clearTimeout(this.#reloadTimer);
    this.#reloadTimer = setTimeout(() => this.reloadHistory(), 300);
  }

  async reloadHistory() {
    if (!this.#active) return;
    try {
      const { history } = await fetchAlertHistory(50);
      const names = new Map(this.#store.all().map((alert) => [alert.id, alert.name]));
      this.#history.replaceChildren(...history.map((entry) => row([
        formatTime(entry.ts), names.get(entry.alert) ?? `#${entry.alert}`,
        entry.kind === "transition" ? entry.state : `webhook ${entry.status}`,
        entry.kind === "transition" ? entry.device ?? "" : `${entry.attempts} attempt${entry.attempts === 1 ? "" : "s"}`,
        entry.kind === "transition" ? (entry.value === null ? "" : formatValue(entry.value)) : entry.lastError ?? "",
      ], { kind: entry.kind, status: entry.status ?? entry.state })));
      this.#historyStatus.textContent = history.length ? "" : "Nothing has fired yet.";
    } catch (error) {
      if (error instanceof UnauthorizedError) return; // the stream ends the session
      this.#historyStatus.textContent = "The history could not be loaded; it is retried with the next alert.";
    }
  }
}

function row(cells, data) {
  const tr = document.createElement("tr");
  Object.assign(tr.dataset, data);
  for (const cell of cells) {
    const td = document.createElement("td");
    if (typeof cell === "object") {
      const badge = document.createElement("span");
      badge.className = "state";
      badge.dataset.state = cell.state;
      badge.dataset.severity = cell.severity;
      badge.textContent = cell.text;
      td.append(badge);
    } else {
      td.textContent = cell;
    }
    tr.append(td);
  }
  return tr;
}
