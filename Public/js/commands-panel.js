// The device page's commands panel: the device's newest commands with their
// statuses, kept current by the stream's `event: command`; for a control
// session a form to send one and a Cancel button on each open one. Rows are
// updated in place (as the overview's cards are), so a status changing
// touches only its own row, and a button keeps keyboard focus.

import { cancelCommand, failureText, fetchCommand, fetchCommands, HTTPError, sendCommand, UnauthorizedError } from "./api.js";
import { CommandList, FINAL_STATUSES, isOpen, outcomeText, readCommandForm } from "./commands.js";
import { byId, cloneTemplate, part } from "./dom.js";
import { formatTime, isoTime } from "./format.js";
import { compactJSON } from "./state.js";

/** Commands listed: the newest of the device's. */
const MAX_ROWS = 50;

/**
 * @typedef {import("./commands.js").CommandRow} CommandRow
 * @typedef {import("./commands.js").CommandEvent} CommandEvent
 */

export class CommandsPanel {
  #el = {
    form: /** @type {HTMLFormElement} */ (byId("command-form")),
    name: /** @type {HTMLInputElement} */ (byId("command-name")),
    args: /** @type {HTMLTextAreaElement} */ (byId("command-args")),
    ttl: /** @type {HTMLInputElement} */ (byId("command-ttl")),
    priority: /** @type {HTMLInputElement} */ (byId("command-priority")),
    submit: /** @type {HTMLButtonElement} */ (byId("command-send")),
    message: byId("command-message"),
    status: byId("commands-status"),
    body: /** @type {HTMLTableElement} */ (byId("commands-table")).tBodies[0],
  };
  #list = new CommandList(MAX_ROWS);
  /** @type {Map<string, HTMLTableRowElement>} */
  #rows = new Map();
  /** @type {string|null} */
  #device = null;
  #control = false;
  #token = 0;
  /** @type {CommandEvent[]|null} events that arrived while the list was loading */
  #pending = null;
  /** Ids whose whole record is being fetched. */
  #fetching = new Set();
  /** Ids being cancelled. */
  #canceling = new Set();

  constructor() {
    this.#el.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.#send();
    });
    for (const field of [this.#el.name, this.#el.args, this.#el.ttl, this.#el.priority]) {
      field.addEventListener("input", () => field.removeAttribute("aria-invalid"));
    }
    this.#el.body.addEventListener("click", (event) => {
      const button = /** @type {HTMLElement} */ (event.target).closest("button.cancel-command");
      const id = button?.closest("tr")?.dataset.id;
      if (id) this.#cancel(id);
    });
  }

  /** Starts showing `device`'s commands; `control` says whether this session may send and cancel. */
  show(device, control) {
    this.hide();
    this.#device = device;
    this.#say("", "");
    this.setControl(control);
    this.#load();
  }

  hide() {
    this.#token += 1;
    this.#device = null;
    this.#pending = null;
    this.#list.clear();
    this.#rows.clear();
    this.#el.body.replaceChildren();
    this.#el.status.textContent = "";
  }

  setControl(control) {
    this.#control = control;
    this.#el.form.hidden = !control;
    this.#render();
  }

  /** An `event: command` of any device. */
  event(event) {
    if (event.device !== this.#device) return;
    if (this.#pending) {
      this.#pending.push(event);
      return;
    }
    this.#apply(event);
    this.#render();
  }

  /** Loads the list again (the stream missed events, or came back after an outage). */
  reload() {
    if (this.#device !== null) this.#load();
  }

  async #load() {
    const token = ++this.#token;
    const device = this.#device;
    this.#pending ??= [];
    if (this.#list.size === 0) this.#el.status.textContent = "Loading…";
    try {
      const { commands } = await fetchCommands(device, MAX_ROWS);
      if (token !== this.#token) return;
      this.#list.replace(commands);
      for (const event of this.#pending) this.#apply(event);
      this.#pending = null;
      this.#render();
    } catch (error) {
      if (token !== this.#token) return;
      this.#pending = null;
      this.#el.status.textContent = `The commands could not be loaded. ${failureText(error)}`;
    }
  }

  /** Applies an event; a command not seen before, or one that ended, is fetched whole (args, result). */
  #apply(event) {
    const row = this.#list.apply(event);
    if (row && (row.partial || FINAL_STATUSES.has(row.status))) this.#fetchWhole(row.id);
  }

  async #fetchWhole(id) {
    if (this.#fetching.has(id)) return;
    this.#fetching.add(id);
    const token = this.#token;
    try {
      const record = await fetchCommand(id);
      if (token !== this.#token || !this.#list.get(id)) return;
      this.#list.upsert(record);
      this.#render();
    } catch {
      // The row keeps what the event said; the next event or reload fills it in.
    } finally {
      this.#fetching.delete(id);
    }
  }

  async #send() {
    const priority = this.#el.priority;
    const read = readCommandForm({
      name: this.#el.name.value, args: this.#el.args.value, ttl: this.#el.ttl.value,
      // A number field holding something that is no number ("-", "1e") reads as "": not "no priority".
      priority: priority.validity.badInput ? "?" : priority.value,
    });
    if ("error" in read) {
      const field = this.#el[read.field];
      field.setAttribute("aria-invalid", "true");
      this.#say("error", read.error);
      field.focus();
      return;
    }
    const device = this.#device;
    const token = this.#token;
    this.#el.submit.disabled = true;
    try {
      const record = await sendCommand(device, read.command);
      if (token !== this.#token) return;
      this.#list.upsert(record);
      this.#render();
      this.#say("sent", `${record.name} is stored as ${record.id}; its status follows in the list.`);
    } catch (error) {
      if (token !== this.#token) return;
      if (error instanceof HTTPError || error instanceof UnauthorizedError) this.#say("error", `Not sent. ${failureText(error)}`);
      else this.#say("error", "The hub did not answer, so the command may or may not have been stored; if it was, it shows in the list.");
    } finally {
      this.#el.submit.disabled = false;
    }
  }

  async #cancel(id) {
    if (!this.#control || this.#canceling.has(id)) return;
    const token = this.#token;
    this.#canceling.add(id);
    this.#render();
    try {
      const record = await cancelCommand(id);
      if (token !== this.#token) return;
      this.#list.upsert(record);
      this.#say("", "");
    } catch (error) {
      if (token !== this.#token) return;
      if (error instanceof HTTPError && error.code === "final") {
        this.#fetchWhole(id);
        this.#say("error", `${this.#list.get(id)?.name ?? id} had already ended; there was nothing to cancel.`);
      } else {
        this.#say("error", `Not canceled. ${failureText(error)}`);
      }
    } finally {
      this.#canceling.delete(id);
      if (token === this.#token) this.#render();
    }
  }

  /** Brings the table to the list: rows updated in place, newest first. */
  #render() {
    const rows = this.#list.rows();
    const keep = new Set(rows.map((row) => row.id));
    for (const [id, tr] of this.#rows) {
      if (!keep.has(id)) {
        tr.remove();
        this.#rows.delete(id);
      }
    }
    let cursor = this.#el.body.firstElementChild;
    for (const row of rows) {
      const tr = this.#rows.get(row.id) ?? this.#create(row.id);
      this.#fill(tr, row);
      if (tr === cursor) cursor = cursor.nextElementSibling;
      else this.#el.body.insertBefore(tr, cursor);
    }
    if (this.#pending === null && this.#device !== null) {
      this.#el.status.textContent = rows.length ? "" : "No commands for this device yet.";
    }
  }

  #create(id) {
    const tr = /** @type {HTMLTableRowElement} */ (cloneTemplate("command-row-template"));
    tr.dataset.id = id;
    this.#rows.set(id, tr);
    return tr;
  }

  /** @param {HTMLTableRowElement} tr  @param {CommandRow} row */
  #fill(tr, row) {
    tr.dataset.status = row.status;
    const time = /** @type {HTMLTimeElement} */ (part(tr, ".command-time"));
    time.textContent = formatTime(row.createdAt);
    time.dateTime = isoTime(row.createdAt);
    part(tr, ".command-name").textContent = row.name;
    const args = part(tr, ".command-args");
    args.textContent = row.args && Object.keys(row.args).length ? compactJSON(row.args) : "";
    args.hidden = args.textContent === "";
    const status = part(tr, ".command-status");
    status.textContent = row.status;
    status.dataset.status = row.status;
    status.title = row.id;
    part(tr, ".command-outcome").textContent = outcomeText(row);
    const cancel = /** @type {HTMLButtonElement} */ (part(tr, ".cancel-command"));
    cancel.hidden = !(this.#control && isOpen(row.status));
    cancel.disabled = this.#canceling.has(row.id);
    cancel.setAttribute("aria-label", `Cancel ${row.name} (${row.id})`);
  }

  /** @param {""|"sent"|"error"} kind  @param {string} text */
  #say(kind, text) {
    this.#el.message.textContent = text;
    this.#el.message.hidden = text === "";
    this.#el.message.dataset.kind = kind;
  }
}
