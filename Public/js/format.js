// Display formatting, in the browser's locale and time zone. Formatters are
// built once: constructing Intl objects is far slower than using them, and
// values update several times a second.

const numberFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
const smallFormat = new Intl.NumberFormat(undefined, { maximumSignificantDigits: 3 });
const scientificFormat = new Intl.NumberFormat(undefined, { notation: "scientific", maximumSignificantDigits: 3 });
const compactFormat = new Intl.NumberFormat(undefined, { notation: "compact", maximumSignificantDigits: 3 });
const countFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const minuteFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const dayFormat = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "short", timeStyle: "medium" });
const rangeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

/**
 * A metric value in the browser's locale: two decimals at most for ordinary
 * magnitudes ("1,234.57"), three significant digits below 1 so that 0.00042
 * does not read "0", and scientific notation at the extremes.
 */
export function formatValue(value) {
  const magnitude = Math.abs(value);
  if (magnitude >= 1e15 || (magnitude > 0 && magnitude < 1e-4)) return scientificFormat.format(value);
  if (magnitude < 1) return smallFormat.format(value === 0 ? 0 : value);
  return numberFormat.format(value);
}

/** `8.4 °C`: a value with the metric's unit when one is set (`telehub metric set`); "" for no value. */
export function withUnit(value, unit) {
  if (value === null || value === undefined) return "";
  return unit ? `${formatValue(value)} ${unit}` : formatValue(value);
}

/**
 * How the dashboard names a metric everywhere (cards, charts, tables,
 * alerts): its label when one is set (`telehub metric set --label`, "Air
 * temperature"), else its own name. Views put the own name in a tooltip.
 * @param {string} metric
 * @param {{label?: string|null}|null} [display]  the metric's entry in `GET /v1/devices`, or an alert
 */
export function metricLabel(metric, display = null) {
  return display?.label || metric;
}

/** A value on a chart axis, where width is scarce: "1.2K", "0.05". */
export function formatAxisValue(value) {
  return Math.abs(value) >= 10000 ? compactFormat.format(value) : formatValue(value);
}

/** A count of things, in the locale's grouping ("12,345"). */
export function formatCount(n) {
  return countFormat.format(n);
}

/** A wall-clock time: just the time for today, date and time otherwise. */
export function formatTime(ms) {
  const date = new Date(ms);
  return isToday(date) ? timeFormat.format(date) : dateTimeFormat.format(date);
}

/** Time of day with seconds, for "offline since 14:03:07". */
export function formatClock(ms) {
  return timeFormat.format(new Date(ms));
}

/** Date and time with seconds, always with the date (chart read-outs). */
export function formatDateTime(ms) {
  return dateTimeFormat.format(new Date(ms));
}

/** "21 Nov 2026, 10:00 – 22 Nov 2026, 10:00", shortened by Intl when both ends share a day. */
export function formatRange(from, to) {
  return rangeFormat.formatRange(new Date(from), new Date(to));
}

/**
 * A chart's time-axis tick. `daily` is true when ticks are a day or more
 * apart; a tick at local midnight also shows the date, so a day boundary
 * is visible on a 24-hour chart.
 */
export function formatTick(date, daily, withSeconds) {
  const midnight = date.getHours() === 0 && date.getMinutes() === 0 && date.getSeconds() === 0;
  if (daily || midnight) return dayFormat.format(date);
  return (withSeconds ? timeFormat : minuteFormat).format(date);
}

/** A bucket width or span: "30 s", "5 min", "2 h", "1 d". */
export function formatDuration(ms) {
  /** @type {Array<[number, string]>} */
  const units = [[86_400_000, "d"], [3_600_000, "h"], [60_000, "min"], [1000, "s"]];
  for (const [size, unit] of units) {
    if (ms >= size && ms % size === 0) return `${countFormat.format(ms / size)} ${unit}`;
  }
  return `${numberFormat.format(ms / 1000)} s`;
}

/** RFC 3339 for `<time datetime>`, so the exact instant is machine-readable. */
export function isoTime(ms) {
  return new Date(ms).toISOString();
}

/**
 * How long ago `ms` was, coarsening as it grows: "12 s ago", "5 min ago",
 * "3 h ago", "4 d ago". Small negative ages come from clock skew between the
 * hub and this browser, so they read as "just now" rather than the future.
 */
export function formatAgo(ms, now = Date.now()) {
  const seconds = Math.floor((now - ms) / 1000);
  if (seconds < 1) return "just now";
  if (seconds < 60) return `${countFormat.format(seconds)} s ago`;
  if (seconds < 3600) return `${countFormat.format(Math.floor(seconds / 60))} min ago`;
  if (seconds < 86400) return `${countFormat.format(Math.floor(seconds / 3600))} h ago`;
  return `${countFormat.format(Math.floor(seconds / 86400))} d ago`;
}

/** The value of an `<input type="datetime-local">` for `ms`, in local time ("2026-11-21T14:03:07"). */
export function toLocalInput(ms) {
  const d = new Date(ms);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`
    + `T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Epoch ms from a datetime-local value (local time, as the user typed it), or NaN. */
export function fromLocalInput(text) {
  // Date parses "YYYY-MM-DDTHH:MM[:SS]" without a zone as local time.
  return text ? new Date(text).getTime() : NaN;
}

function isToday(date) {
  const today = new Date();
  return date.getFullYear() === today.getFullYear()
    && date.getMonth() === today.getMonth()
    && date.getDate() === today.getDate();
}
