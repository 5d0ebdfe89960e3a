// Display formatting. Formatters are built once: constructing Intl objects is
// far slower than using them, and values update several times a second.

const numberFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
const countFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "short", timeStyle: "medium" });

/** A metric value in the browser's locale, at most two decimals ("1,234.57"). */
export function formatValue(value) {
  // Round first so that small negatives like -0.004 read "0", not "-0".
  const rounded = Math.round(value * 100) / 100;
  return numberFormat.format(rounded === 0 ? 0 : rounded);
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

function isToday(date) {
  const today = new Date();
  return date.getFullYear() === today.getFullYear()
    && date.getMonth() === today.getMonth()
    && date.getDate() === today.getDate();
}
