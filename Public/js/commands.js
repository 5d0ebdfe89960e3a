// A device's commands (contract v1.2) as the device page keeps them: the
// list loaded from `GET /v1/devices/{name}/commands`, brought up to date by
// the stream's `event: command` and by the hub's answers to sending and
// cancelling; and the rules for reading the send form. Plain data, no DOM.

/** Statuses after which nothing changes. */
export const FINAL_STATUSES = new Set(["succeeded", "failed", "expired", "canceled"]);
/** queued → sent → delivered → a final status; a command never moves back. */
const RANK = { queued: 0, sent: 1, delivered: 2 };
const NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;
const MIN_TTL_MS = 1000;
const MAX_TTL_MS = 30 * 86_400_000;
const DURATION_UNITS = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * @typedef {{id: string, device: string, name: string, status: string, createdAt: number,
 *            args?: object, priority?: number, expiresAt?: number, attempts?: number,
 *            deliveredAt?: number|null, completedAt?: number|null, result?: object|null,
 *            message?: string|null}} CommandRecord  as the hub answers it
 * @typedef {CommandRecord & {updatedAt: number, partial: boolean}} CommandRow
 *          `partial`: known only from a stream event (no args or result yet)
 * @typedef {{id: string, device: string, name: string, status: string, ts: number}} CommandEvent
 */

/** Whether a command in `status` may still be cancelled. */
export function isOpen(status) {
  return !FINAL_STATUSES.has(status);
}

function rank(status) {
  return FINAL_STATUSES.has(status) ? 3 : RANK[status] ?? 0;
}

export class CommandList {
  /** @type {Map<string, CommandRow>} */
  #rows = new Map();
  /** Insertion order, the tie-breaker between commands created in the same millisecond. */
  #order = new Map();
  #counter = 0;
  #limit;

  /** @param {number} limit  rows kept, the newest */
  constructor(limit) {
    this.#limit = limit;
  }

  /** The hub's list (newest first) replaces everything. */
  replace(records) {
    this.#rows.clear();
    this.#order.clear();
    for (const record of [...records].reverse()) this.upsert(record);
  }

  clear() {
    this.#rows.clear();
    this.#order.clear();
  }

  /**
   * A whole command from the hub (the answer to sending, cancelling or
   * `GET /v1/commands/{id}`). Its status wins unless the row has already
   * moved further (an event may overtake the answer).
   * @param {CommandRecord} record
   * @returns {CommandRow}
   */
  upsert(record) {
    const current = this.#rows.get(record.id);
    const status = current && rank(current.status) > rank(record.status) ? current.status : record.status;
    const updatedAt = Math.max(current?.updatedAt ?? 0, record.completedAt ?? record.deliveredAt ?? record.createdAt ?? 0);
    /** @type {CommandRow} */
    const row = { ...record, status, updatedAt, partial: false };
    this.#put(row);
    return row;
  }

  /**
   * A stream event. Returns the row it changed or created, or null when it
   * tells nothing new (an event older than what the list already shows).
   * @param {CommandEvent} event
   * @returns {CommandRow|null}
   */
  apply({ id, device, name, status, ts }) {
    const current = this.#rows.get(id);
    if (current) {
      // Statuses only move forward, and a final one is the end (expired never follows succeeded).
      if (rank(status) < rank(current.status) || (!isOpen(current.status) && current.status !== status)) return null;
      if (status === current.status && ts <= current.updatedAt) return null;
      const row = { ...current, status, updatedAt: Math.max(current.updatedAt, ts) };
      this.#rows.set(id, row);
      return row;
    }
    /** @type {CommandRow} */
    const row = { id, device, name, status, createdAt: ts, updatedAt: ts, partial: true };
    this.#put(row);
    return this.#rows.get(id) ?? null;
  }

  get(id) {
    return this.#rows.get(id);
  }

  /** @returns {CommandRow[]} newest first */
  rows() {
    return [...this.#rows.values()].sort((a, b) => b.createdAt - a.createdAt || this.#order.get(b.id) - this.#order.get(a.id));
  }

  get size() {
    return this.#rows.size;
  }

  #put(row) {
    if (!this.#order.has(row.id)) this.#order.set(row.id, (this.#counter += 1));
    this.#rows.set(row.id, row);
    if (this.#rows.size <= this.#limit) return;
    for (const oldest of this.rows().slice(this.#limit)) {
      this.#rows.delete(oldest.id);
      this.#order.delete(oldest.id);
    }
  }
}

/**
 * What a finished command came to, in a few words: the device's result or
 * message, or why it ended; "" while it is open.
 * @param {CommandRow} row
 */
export function outcomeText(row) {
  if (row.status === "failed") return row.message || "failed without a message";
  if (row.status === "succeeded") {
    const result = row.result && Object.keys(row.result).length ? JSON.stringify(row.result) : "";
    return [result, row.message ?? ""].filter(Boolean).join(" · ");
  }
  if (row.status === "expired") return "its time to live passed before the device answered";
  if (row.status === "canceled") return "canceled before the device answered";
  return row.attempts && row.attempts > 1 ? `sent ${row.attempts} times` : "";
}

/**
 * Reads the send form as the hub will judge it, so a mistake is named at
 * its field before anything is sent. Empty optional fields are left out
 * (the hub's defaults: a day to live, priority 5).
 * @param {{name: string, args: string, ttl: string, priority: string}} form
 * @returns {{command: {name: string, args: object, ttl?: number, priority?: number}}|{field: string, error: string}}
 */
export function readCommandForm({ name, args, ttl, priority }) {
  const trimmed = name.trim();
  if (!NAME.test(trimmed)) {
    return { field: "name", error: "A name is 1 to 64 letters, digits, “_”, “.” or “-”, starting with a letter or “_”." };
  }
  /** @type {{name: string, args: object, ttl?: number, priority?: number}} */
  const command = { name: trimmed, args: {} };
  if (args.trim() !== "") {
    let value;
    try {
      value = JSON.parse(args);
    } catch (error) {
      return { field: "args", error: `The arguments are not JSON: ${error.message}` };
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      return { field: "args", error: "The arguments are a JSON object, such as {\"seconds\": 5}." };
    }
    command.args = value;
  }
  if (ttl.trim() !== "") {
    const ms = parseDuration(ttl);
    if (!(ms >= MIN_TTL_MS && ms <= MAX_TTL_MS)) {
      return { field: "ttl", error: "The time to live is from 1 s to 30 d, such as 90s, 15m, 2h or 7d." };
    }
    command.ttl = ms;
  }
  if (priority.trim() !== "") {
    const value = Number(priority);
    if (!Number.isInteger(value) || value < 0 || value > 9) {
      return { field: "priority", error: "The priority is a whole number from 0 to 9 (higher goes first)." };
    }
    command.priority = value;
  }
  return { command };
}

/**
 * "90s", "15m", "15 min", "2h", "7d", "500ms", or a bare number of seconds,
 * as milliseconds (whole); NaN for anything else.
 */
export function parseDuration(text) {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d)?$/i.exec(text.trim());
  if (!match) return NaN;
  return Math.round(Number(match[1]) * DURATION_UNITS[(match[2] ?? "s").toLowerCase()]);
}
