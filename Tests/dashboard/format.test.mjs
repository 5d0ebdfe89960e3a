// Run with LANG=en_US.UTF-8 and TZ=UTC (scripts/test.sh sets both): the
// formatters use the browser's locale and zone, node's here.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  formatAgo, formatCount, formatDuration, formatTick, formatValue, fromLocalInput, isoTime, metricLabel, toLocalInput, withUnit,
} from "../../Public/js/format.js";

test("values: two decimals, three significant digits below 1, scientific at the extremes", () => {
  assert.equal(formatValue(1234.5678), "1,234.57");
  assert.equal(formatValue(0.00042), "0.00042");
  assert.equal(formatValue(0.00001234), "1.23E-5");
  assert.equal(formatValue(0.042), "0.042");
  assert.equal(formatValue(0), "0");
  assert.equal(formatValue(-3.14159), "-3.14");
  assert.equal(formatValue(2e15), "2E15");
});

test("a unit follows the value; no value is an empty string", () => {
  assert.equal(withUnit(8.4, "°C"), "8.4 °C");
  assert.equal(withUnit(8.4, ""), "8.4");
  assert.equal(withUnit(null, "°C"), "");
  assert.equal(withUnit(undefined, "°C"), "");
  assert.equal(withUnit(0, "%"), "0 %");
});

test("durations pick the largest whole unit", () => {
  assert.equal(formatDuration(30_000), "30 s");
  assert.equal(formatDuration(300_000), "5 min");
  assert.equal(formatDuration(7_200_000), "2 h");
  assert.equal(formatDuration(86_400_000), "1 d");
  assert.equal(formatDuration(1500), "1.5 s");
  assert.equal(formatDuration(90_000), "90 s");
});

test("ages coarsen as they grow; clock skew reads as just now", () => {
  const now = 1_732_200_000_000;
  assert.equal(formatAgo(now + 3000, now), "just now");
  assert.equal(formatAgo(now - 12_000, now), "12 s ago");
  assert.equal(formatAgo(now - 5 * 60_000, now), "5 min ago");
  assert.equal(formatAgo(now - 3 * 3_600_000, now), "3 h ago");
  assert.equal(formatAgo(now - 4 * 86_400_000, now), "4 d ago");
});

test("counts group thousands", () => {
  assert.equal(formatCount(12345), "12,345");
});

test("a datetime-local value round-trips; an empty one is NaN", () => {
  const ms = Date.UTC(2026, 10, 21, 14, 3, 7);
  assert.equal(toLocalInput(ms), "2026-11-21T14:03:07");
  assert.equal(fromLocalInput(toLocalInput(ms)), ms);
  assert.ok(Number.isNaN(fromLocalInput("")));
  assert.equal(isoTime(ms), "2026-11-21T14:03:07.000Z");
});

test("a tick at midnight shows the date, other ticks the time", () => {
  assert.equal(formatTick(new Date(Date.UTC(2026, 10, 21)), false, false), "Nov 21");
  assert.equal(formatTick(new Date(Date.UTC(2026, 10, 21, 14, 30)), false, false), "02:30 PM");
  assert.equal(formatTick(new Date(Date.UTC(2026, 10, 21, 14, 30)), true, false), "Nov 21");
});

test("a metric is named by its label wherever it shows, else by its own name", () => {
  // The demo's battery: "Battery" on the card, the chart, the table and in alerts alike.
  assert.equal(metricLabel("battery", { ts: 1, value: 80, unit: "%", label: "Battery" }), "Battery");
  assert.equal(metricLabel("battery", { ts: 1, value: 80 }), "battery");
  assert.equal(metricLabel("battery", { label: "" }), "battery");
  assert.equal(metricLabel("battery", undefined), "battery");
  assert.equal(metricLabel("battery"), "battery");
});
