// The device page's state panel: the desired and reported documents with
// their versions, the delta (what the device has not applied yet), and for
// a control session an editor for the desired object.
//
// The editor saves with `If-Match` of the version its text was read at, so
// a change someone else made meanwhile is never overwritten: the hub answers
// 412 and the panel says so, keeping the operator's text. While the operator
// edits, newer versions arriving over the stream update the documents but
// not the editor.

import { failureText, fetchState, HTTPError, putDesired, UnauthorizedError } from "./api.js";
import { byId } from "./dom.js";
import { formatTime } from "./format.js";
import { deltaRows, isNewerState, parseDesired, prettyJSON } from "./state.js";

/** @typedef {import("./state.js").DeviceState} DeviceState */

export class StatePanel {
  #el = {
    panel: byId("state-panel"),
    status: byId("state-status"),
    desiredVersion: byId("desired-version"),
    desiredJSON: byId("desired-json"),
    desiredMeta: byId("desired-meta"),
    reportedVersion: byId("reported-version"),
    reportedJSON: byId("reported-json"),
    reportedMeta: byId("reported-meta"),
    deltaEmpty: byId("delta-empty"),
    deltaTable: /** @type {HTMLTableElement} */ (byId("delta-table")),
    form: /** @type {HTMLFormElement} */ (byId("desired-form")),
    editor: /** @type {HTMLTextAreaElement} */ (byId("desired-editor")),
    save: /** @type {HTMLButtonElement} */ (byId("desired-save")),
    revert: /** @type {HTMLButtonElement} */ (byId("desired-revert")),
    base: byId("desired-base"),
    message: byId("desired-message"),
  };
  /** @type {string|null} */
  #device = null;
  #control = false;
  /** @type {DeviceState|null} the state last loaded */
  #shown = null;
  /** @type {number|null} the desired version the editor's text was read at */
  #base = null;
  /** The text last put in the editor; anything else is the operator's edit. */
  #pristine = "";
  #token = 0;
  #loading = false;
  #again = false;
  #saving = false;

  constructor() {
    this.#el.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.#save();
    });
    this.#el.revert.addEventListener("click", () => this.#takeShown());
    this.#el.editor.addEventListener("input", () => {
      if (this.#el.message.dataset.kind !== "conflict") this.#say("", "");
      this.#renderEditor();
    });
  }

  /** Starts showing `device`; `control` says whether this session may edit. */
  show(device, control) {
    this.#forget();
    this.#device = device;
    this.#el.editor.value = "";
    this.#el.status.textContent = "Loading…";
    for (const element of [this.#el.desiredVersion, this.#el.desiredJSON, this.#el.desiredMeta, this.#el.reportedVersion,
      this.#el.reportedJSON, this.#el.reportedMeta]) element.textContent = "";
    this.#el.deltaTable.tBodies[0].replaceChildren();
    this.#el.deltaEmpty.hidden = true;
    this.#say("", "");
    this.setControl(control);
    this.#load();
  }

  hide() {
    this.#forget();
    this.#device = null;
  }

  setControl(control) {
    this.#control = control;
    this.#el.form.hidden = !control;
    this.#renderEditor();
  }

  /** An `event: state` (or the device list's versions): loads the state again if it tells anything new. */
  changed(event) {
    if (event.device === this.#device && isNewerState(event, this.#shown)) this.#load();
  }

  /** Loads again (the stream missed events, or came back after an outage). */
  reload() {
    if (this.#device !== null) this.#load();
  }

  #forget() {
    this.#token += 1;
    this.#loading = false;
    this.#again = false;
    this.#shown = null;
    this.#base = null;
    this.#pristine = "";
  }

  /** One request at a time; events meanwhile ask for one more, so the last answer is never older than the last event. */
  async #load() {
    if (this.#loading) {
      this.#again = true;
      return;
    }
    const token = ++this.#token;
    this.#loading = true;
    let state = null;
    let failure = null;
    try {
      state = await fetchState(this.#device);
    } catch (error) {
      failure = error;
    }
    if (token !== this.#token) return; // hidden, or another device shown, meanwhile
    this.#loading = false;
    if (failure) this.#el.status.textContent = `The state could not be loaded. ${failureText(failure)}`;
    else this.#render(state);
    if (this.#again) {
      this.#again = false;
      this.#load();
    }
  }

  /** @param {DeviceState} state */
  #render(state) {
    this.#shown = state;
    const { desired, reported } = state;
    const data = this.#el.panel.dataset;
    data.desiredVersion = String(desired.version);
    data.reportedVersion = String(reported.version);
    data.applied = reported.applied === null ? "" : String(reported.applied);
    this.#el.status.textContent = "";
    this.#el.desiredVersion.textContent = `version ${desired.version}`;
    this.#el.desiredJSON.textContent = prettyJSON(desired.state);
    this.#el.desiredMeta.textContent = desired.updatedAt === null ? "Never set." : `Changed ${formatTime(desired.updatedAt)}.`;
    this.#el.reportedVersion.textContent = `version ${reported.version}`;
    this.#el.reportedJSON.textContent = prettyJSON(reported.state);
    this.#el.reportedMeta.textContent = [
      reported.updatedAt === null ? "Never reported." : `Reported ${formatTime(reported.updatedAt)}.`,
      reported.applied === null ? "" : `Has applied desired version ${reported.applied}.`,
    ].filter(Boolean).join(" ");
    this.#renderDelta(state);
    // An answer older than the editor's text (a request that was out while saving) does not replace it.
    if (this.#base === null || (!this.#dirty() && desired.version >= this.#base)) this.#setEditor(desired.state, desired.version);
    this.#renderEditor();
  }

  #renderDelta({ delta, reported }) {
    const rows = deltaRows(delta, reported.state);
    this.#el.deltaEmpty.hidden = rows.length > 0;
    this.#el.deltaTable.hidden = rows.length === 0;
    this.#el.deltaTable.tBodies[0].replaceChildren(...rows.map((row) => {
      const tr = document.createElement("tr");
      tr.dataset.path = row.path;
      for (const [text, kind] of [[row.path, "path"], [row.desired, "desired"], [row.reported ?? "not reported", "reported"]]) {
        const td = document.createElement("td");
        td.className = `delta-${kind}`;
        if (kind === "reported" && row.reported === null) td.dataset.missing = "true";
        const code = document.createElement("code");
        code.textContent = text;
        td.append(code);
        tr.append(td);
      }
      return tr;
    }));
  }

  #setEditor(state, version) {
    this.#pristine = prettyJSON(state);
    this.#el.editor.value = this.#pristine;
    this.#base = version;
  }

  #dirty() {
    return this.#el.editor.value !== this.#pristine;
  }

  /** The editor's base version, its buttons, and a warning when the text was read at an older version. */
  #renderEditor() {
    const shown = this.#shown?.desired.version ?? null;
    const stale = this.#base !== null && shown !== null && shown > this.#base;
    this.#el.base.textContent = this.#base === null ? "" : `Editing version ${this.#base}.`;
    this.#el.save.disabled = !this.#control || this.#saving || this.#base === null || !this.#dirty();
    this.#el.revert.hidden = !(stale || this.#dirty());
    this.#el.revert.textContent = stale ? `Load version ${shown}` : "Discard changes";
    if (stale && this.#el.message.dataset.kind !== "conflict") {
      this.#say("stale", `Someone else saved version ${shown} while you were editing version ${this.#base}. `
        + `Saving now would be refused; load version ${shown} to start from it.`);
    } else if (!stale && this.#el.message.dataset.kind === "stale") {
      this.#say("", "");
    }
  }

  /** Puts the state last loaded in the editor, dropping the operator's text. */
  #takeShown() {
    if (!this.#shown) return;
    this.#setEditor(this.#shown.desired.state, this.#shown.desired.version);
    this.#say("", "");
    this.#renderEditor();
    this.#el.editor.focus();
  }

  async #save() {
    if (!this.#control || this.#saving || this.#base === null) return;
    const parsed = parseDesired(this.#el.editor.value);
    if ("error" in parsed) {
      this.#say("error", parsed.error);
      this.#el.editor.focus();
      return;
    }
    const device = this.#device;
    const base = this.#base;
    this.#saving = true;
    this.#renderEditor();
    try {
      const saved = await putDesired(device, parsed.state, base);
      if (device !== this.#device) return;
      this.#setEditor(saved.state, saved.version);
      this.#say("saved", `Saved as version ${saved.version}.`);
      this.#load();
    } catch (error) {
      if (device !== this.#device) return;
      if (error instanceof HTTPError && error.code === "version_mismatch") {
        const current = Number(error.body.version);
        this.#say("conflict", `Not saved: someone else changed the desired state meanwhile. It is at version ${current} now; `
          + `your text was based on version ${base}. Your text is kept; load version ${current} to see their change, then edit again.`,
        current);
        this.#load();
      } else if (error instanceof HTTPError || error instanceof UnauthorizedError) {
        this.#say("error", `Not saved. ${failureText(error)}`);
      } else {
        this.#say("error", "The hub did not answer, so the change may or may not have been saved. "
          + "The desired state above shows what the hub has once it answers again.");
        this.#load();
      }
    } finally {
      this.#saving = false;
      this.#renderEditor();
    }
  }

  /** @param {""|"saved"|"error"|"stale"|"conflict"} kind  @param {string} text  @param {number|null} version */
  #say(kind, text, version = null) {
    const message = this.#el.message;
    message.textContent = text;
    message.hidden = text === "";
    message.dataset.kind = kind;
    if (version === null) delete message.dataset.version;
    else message.dataset.version = String(version);
  }
}
