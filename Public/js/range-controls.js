// The device page's range controls: preset buttons, the custom from/to
// inputs, the CSV link and the line that says what is shown. They report a
// chosen range; the page decides what to load.

import { exportHref } from "./api.js";
import { byId } from "./dom.js";
import { formatRange, fromLocalInput, toLocalInput } from "./format.js";
import { customRange, presetRange, slide } from "./time-range.js";

/** @typedef {import("./time-range.js").TimeRange} TimeRange */

const PRESET_TEXT = { "15m": "15 minutes", "1h": "hour", "24h": "24 hours", "7d": "7 days", "30d": "30 days" };

export class RangeControls {
  #presets = /** @type {HTMLButtonElement[]} */ ([...document.querySelectorAll(".range-presets [data-range]")]);
  #form = /** @type {HTMLFormElement} */ (byId("custom-range"));
  #from = /** @type {HTMLInputElement} */ (byId("range-from"));
  #to = /** @type {HTMLInputElement} */ (byId("range-to"));
  #csv = /** @type {HTMLAnchorElement} */ (byId("csv-link"));
  #summary = byId("range-summary");
  /** @type {TimeRange|null} */
  #range = null;
  #device = "";

  /** @param {(range: TimeRange) => void} onChoose  the user picked a preset or submitted a custom range */
  constructor(onChoose) {
    for (const button of this.#presets) {
      button.addEventListener("click", () => onChoose(presetRange(button.dataset.range)));
    }
    this.#form.addEventListener("submit", (event) => {
      event.preventDefault();
      const range = this.#readCustom();
      if (range) onChoose(range);
    });
    for (const input of [this.#from, this.#to]) input.addEventListener("input", () => input.setCustomValidity(""));
    // A live range ends "now" when the link is followed, not when it was drawn.
    this.#csv.addEventListener("click", () => this.#updateLink());
  }

  /** Reflects the range being shown: pressed preset, inputs, link, summary. */
  show(device, range) {
    this.#device = device;
    this.#range = range;
    for (const button of this.#presets) button.setAttribute("aria-pressed", String(button.dataset.range === range.key));
    this.#form.dataset.active = String(!range.live);
    // Don't overwrite what the user is typing.
    if (!this.#form.contains(document.activeElement)) {
      this.#from.value = toLocalInput(range.from);
      this.#to.value = toLocalInput(range.to);
    }
    this.#updateLink();
    this.#summary.textContent = range.live
      ? `Last ${PRESET_TEXT[range.key]}, updating live. Drag across a chart to zoom in; double-click to zoom back out.`
      : `${formatRange(range.from, range.to)}. Drag to zoom in; double-click to zoom back out.`;
  }

  #updateLink() {
    if (!this.#range) return;
    const range = slide(this.#range);
    this.#csv.href = exportHref(this.#device, range.from, range.to);
    this.#csv.download = `${this.#device}.csv`;
  }

  #readCustom() {
    const from = fromLocalInput(this.#from.value);
    const to = fromLocalInput(this.#to.value);
    const range = customRange(from, to);
    if (!range) {
      const input = Number.isNaN(from) ? this.#from : this.#to;
      input.setCustomValidity(Number.isNaN(from) || Number.isNaN(to) ? "Enter a date and time." : "“To” must be after “From”.");
      input.reportValidity();
    }
    return range;
  }
}
