// The time range a device page shows: a preset that ends now and slides
// with the clock ("live"), or a fixed custom range (typed in, or zoomed to).

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Preset keys as they appear on the buttons' `data-range` and in the address. */
export const PRESETS = { "15m": 15 * MINUTE, "1h": HOUR, "24h": DAY, "7d": 7 * DAY, "30d": 30 * DAY };
export const DEFAULT_PRESET = "1h";
/** Shorter ranges are not worth a request: a zoom this narrow is a slip of the mouse. */
export const MIN_SPAN_MS = 1000;

/** @typedef {{key: string, from: number, to: number, live: boolean}} TimeRange */

/** @returns {TimeRange} the preset's range ending at `now` */
export function presetRange(key, now = Date.now()) {
  const span = PRESETS[key] ?? PRESETS[DEFAULT_PRESET];
  return { key: key in PRESETS ? key : DEFAULT_PRESET, from: now - span, to: now, live: true };
}

/** @returns {TimeRange|null} a fixed range, or null when it is empty or backwards */
export function customRange(from, to) {
  if (!Number.isFinite(from) || !Number.isFinite(to) || to - from < MIN_SPAN_MS) return null;
  return { key: "custom", from: Math.floor(from), to: Math.ceil(to), live: false };
}

/** The same live range moved forward to end at `now`; fixed ranges stay. */
export function slide(range, now = Date.now()) {
  return range.live ? presetRange(range.key, now) : range;
}

/** Reads `range=24h` or `from=…&to=…` (epoch ms) from a route's parameters. */
export function rangeFromParams(params) {
  const from = Number(params.get("from"));
  const to = Number(params.get("to"));
  if (params.has("from") && params.has("to")) {
    const range = customRange(from, to);
    if (range) return range;
  }
  return presetRange(params.get("range") ?? DEFAULT_PRESET);
}

/** The parameters that `rangeFromParams` reads back; the default preset needs none. */
export function rangeParams(range) {
  if (range.live) return new URLSearchParams(range.key === DEFAULT_PRESET ? {} : { range: range.key });
  return new URLSearchParams({ from: String(range.from), to: String(range.to) });
}

export function sameRange(a, b) {
  return a.key === b.key && (a.live ? b.live : a.from === b.from && a.to === b.to);
}
