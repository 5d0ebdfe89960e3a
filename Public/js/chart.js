// One metric's chart on the device page: a dygraphs time series with the
// min–max band of bucketed data (customBars) around the average line.
//
// The chart container carries what it shows as data attributes (state,
// range, points loaded, bucket step, the width live readings are bucketed
// at), so a person inspecting the page, or a test, can check it against the
// history endpoint without scraping pixels.

import { formatAxisValue, formatCount, formatDateTime, formatDuration, formatTick, formatValue, metricLabel } from "./format.js";
import { part } from "./dom.js";

/**
 * @typedef {import("./series.js").Series} Series
 * @typedef {import("./time-range.js").TimeRange} TimeRange
 * @typedef {{zoom: (from: number, to: number) => void, unzoom: () => void}} ZoomHandlers
 */

const MIN_REDRAW_MS = 250;

export class MetricChart {
  /** @type {HTMLElement} */ panel;
  #container;
  #message;
  #readout;
  #metric;
  #title;
  #Dygraph;
  #zoom;
  /** @type {any} the Dygraph instance, created with the first non-empty data */
  #graph = null;
  /** @type {Series|null} */
  #series = null;
  /** @type {TimeRange|null} */
  #range = null;
  /** The rows last given to dygraphs, to look up a hovered row's min and max. */
  #file = [];
  #frame = 0;
  #timer = 0;
  #drawnAt = 0;

  /**
   * @param {HTMLTemplateElement} template  `#chart-template`
   * @param {string} metric
   * @param {any} Dygraph  the library's constructor
   * @param {ZoomHandlers} zoom
   * @param {import("./devices.js").MetricValue} [display]  its label, if one is set
   */
  constructor(template, metric, Dygraph, zoom, display = undefined) {
    this.panel = /** @type {HTMLElement} */ (template.content.firstElementChild.cloneNode(true));
    this.panel.dataset.metric = metric;
    this.#container = part(this.panel, ".chart");
    this.#container.dataset.metric = metric;
    this.#message = part(this.panel, ".chart-message");
    this.#readout = part(this.panel, ".chart-readout");
    this.#title = part(this.panel, ".chart-title");
    this.#metric = metric;
    this.setDisplay(display);
    this.#Dygraph = Dygraph;
    this.#zoom = zoom;
  }

  /** Names the chart as the rest of the dashboard names the metric; its own name stays in the tooltip. */
  setDisplay(display) {
    const label = metricLabel(this.#metric, display);
    if (this.#title.textContent !== label) this.#title.textContent = label;
    this.#title.title = label === this.#metric ? "" : this.#metric;
  }

  /** Marks the chart as waiting for `range`; the old curve stays until the new one arrives. */
  loading(range, maxPoints) {
    this.#range = range;
    const data = this.#container.dataset;
    data.state = "loading";
    data.range = range.key;
    data.from = String(range.from);
    data.to = String(range.to);
    data.maxPoints = String(maxPoints);
    data.livePoints = "0";
  }

  /** Draws a freshly loaded series for the range given to `loading`. */
  show(series) {
    this.#series = series;
    const data = this.#container.dataset;
    data.points = String(series.loaded);
    data.step = String(series.step);
    data.liveStep = String(series.width);
    data.state = series.rows.length ? "ready" : "empty";
    this.#say(series.rows.length ? "" : "No readings in this range.");
    this.#draw();
  }

  failed() {
    this.#container.dataset.state = "error";
    this.#say("Could not load this chart. It will retry when the connection is back.");
  }

  /** A live reading for a range that ends now; the redraw is scheduled (see #schedule). */
  add(ts, value) {
    if (!this.#series || !this.#range?.live) return;
    this.#series.add(ts, value);
    this.#container.dataset.livePoints = String(Number(this.#container.dataset.livePoints) + 1);
    if (this.#container.dataset.state === "empty") {
      this.#container.dataset.state = "ready";
      this.#say("");
    }
    this.#schedule();
  }

  /** Moves a live range forward with the clock, so the chart's right edge stays "now". */
  slide(range) {
    // data-from and data-to keep describing the request the points came from.
    this.#range = range;
    this.#schedule();
  }

  /** "loading", "ready", "empty" or "error". */
  get state() {
    return this.#container.dataset.state;
  }

  /** Re-reads the palette (light/dark) from the stylesheet. */
  applyTheme() {
    this.#graph?.updateOptions(themeOptions());
  }

  destroy() {
    cancelAnimationFrame(this.#frame);
    clearTimeout(this.#timer);
    this.#graph?.destroy();
    this.#graph = null;
    this.panel.remove();
  }

  /**
   * Redraws on the next frame, but at most every MIN_REDRAW_MS: a device
   * reporting at 20 Hz should not redraw a dozen canvases 20 times a second.
   */
  #schedule() {
    if (this.#frame || this.#timer) return;
    const wait = this.#drawnAt + MIN_REDRAW_MS - performance.now();
    const frame = () => {
      this.#timer = 0;
      this.#frame = requestAnimationFrame(() => this.#draw());
    };
    if (wait > 0) this.#timer = setTimeout(frame, wait);
    else frame();
  }

  #draw() {
    this.#frame = 0;
    this.#drawnAt = performance.now();
    if (!this.#series || !this.#range) return;
    if (this.#range.live) this.#series.trimBefore(this.#range.from);
    this.#file = this.#series.toDygraph();
    this.#showLatest();
    if (this.#file.length === 0) {
      // Nothing in this range: no stale curve from the previous one under the message.
      this.#graph?.destroy();
      this.#graph = null;
      return;
    }
    const dateWindow = [this.#range.from, this.#range.to];
    if (this.#graph) this.#graph.updateOptions({ file: this.#file, dateWindow });
    else this.#graph = new this.#Dygraph(this.#container, this.#file, this.#options(dateWindow));
  }

  #options(dateWindow) {
    const { Granularity } = this.#Dygraph;
    return {
      labels: ["Time", this.#metric],
      customBars: true,
      dateWindow,
      strokeWidth: 1.5,
      fillAlpha: 0.22,
      drawGapEdgePoints: true,
      highlightCircleSize: 3,
      axisLabelFontSize: 12,
      resizable: "passive",
      axes: {
        x: {
          pixelsPerLabel: 70,
          axisLabelFormatter: (date, granularity) =>
            formatTick(date, granularity >= Granularity.DAILY, granularity < Granularity.MINUTELY),
        },
        y: { axisLabelWidth: 56, axisLabelFormatter: (value) => formatAxisValue(value) },
      },
      zoomCallback: (from, to) => this.#zoomed(from, to),
      highlightCallback: (_event, x, _points, row) => this.#showRow(x, row),
      unhighlightCallback: () => this.#showLatest(),
      ...themeOptions(),
    };
  }

  /**
   * Dygraphs calls this after a drag-zoom (the window is set) and after a
   * double-click reset (the window is cleared). A vertical drag zooms only
   * the y axis and reports the unchanged x window: nothing to reload then.
   */
  #zoomed(from, to) {
    if (!this.#graph.isZoomed("x")) {
      this.#zoom.unzoom();
      return;
    }
    const range = this.#range;
    if (range && Math.abs(from - range.from) < 1 && Math.abs(to - range.to) < 1) return;
    this.#zoom.zoom(from, to);
  }

  #showRow(x, row) {
    const bars = this.#file[row]?.[1];
    if (!bars) return;
    const [min, avg, max] = bars;
    const when = formatDateTime(x);
    const count = this.#series?.rows.find((r) => r[0] === x)?.[4] ?? 1;
    if (count > 1 || min !== max) {
      const values = ` · ${formatCount(count)} values`;
      this.#readout.textContent = `${when} · avg ${formatValue(avg)} (${formatValue(min)} – ${formatValue(max)})${values}`;
    } else {
      this.#readout.textContent = `${when} · ${formatValue(avg)}`;
    }
  }

  /** Without a hovered point: the newest value, or how to read a bucketed chart. */
  #showLatest() {
    const series = this.#series;
    const latest = series?.rows.length ? series.latest : null;
    if (!series?.rows.length) this.#readout.textContent = "";
    else if (series.step === 0 && latest) this.#readout.textContent = `latest ${formatValue(latest[1])} at ${formatDateTime(latest[0])}`;
    else this.#readout.textContent = `average per ${formatDuration(series.width)}, band from min to max`;
  }

  #say(text) {
    this.#message.textContent = text;
    this.#message.hidden = text === "";
  }
}

/** Chart colours from the stylesheet's custom properties, so charts follow light and dark mode. */
function themeOptions() {
  const style = getComputedStyle(document.documentElement);
  const read = (name) => style.getPropertyValue(name).trim();
  return {
    colors: [read("--accent")],
    axisLineColor: read("--border"),
    gridLineColor: read("--border"),
  };
}
