import { test } from "node:test";
import assert from "node:assert/strict";
import {
  DEFAULT_PRESET, MIN_SPAN_MS, PRESETS, customRange, presetRange, rangeFromParams, rangeParams, sameRange, slide,
} from "../../Public/js/time-range.js";

const NOW = 1_732_200_000_000;

test("a preset ends now and is live; an unknown key is the default", () => {
  assert.deepEqual(presetRange("24h", NOW), { key: "24h", from: NOW - 86_400_000, to: NOW, live: true });
  assert.deepEqual(presetRange("2y", NOW), presetRange(DEFAULT_PRESET, NOW));
});

test("a custom range must be finite, forward and at least the minimum span", () => {
  assert.equal(customRange(NOW, NOW + MIN_SPAN_MS - 1), null);
  assert.equal(customRange(NOW, NOW - 5000), null);
  assert.equal(customRange(NaN, NOW), null);
  assert.equal(customRange(NOW, Infinity), null);
  assert.deepEqual(customRange(NOW + 0.4, NOW + 5000.2), { key: "custom", from: NOW, to: NOW + 5001, live: false });
});

test("live ranges slide with the clock, fixed ones stay", () => {
  const live = presetRange("15m", NOW);
  assert.deepEqual(slide(live, NOW + 60_000), presetRange("15m", NOW + 60_000));
  const fixed = customRange(NOW, NOW + 60_000);
  assert.equal(slide(fixed, NOW + 3_600_000), fixed);
});

test("every range survives the address: rangeParams then rangeFromParams", () => {
  for (const key of Object.keys(PRESETS)) {
    const range = presetRange(key, NOW);
    assert.ok(sameRange(rangeFromParams(rangeParams(range)), range), key);
  }
  const fixed = customRange(NOW, NOW + 60_000);
  assert.deepEqual(rangeFromParams(rangeParams(fixed)), fixed);
  assert.equal(String(rangeParams(presetRange(DEFAULT_PRESET, NOW))), "");
});

test("a backwards or malformed custom range in the address falls back to the preset", () => {
  assert.equal(rangeFromParams(new URLSearchParams({ from: "5000", to: "1000", range: "7d" })).key, "7d");
  assert.equal(rangeFromParams(new URLSearchParams({ from: "x", to: "1000" })).key, DEFAULT_PRESET);
});

test("sameRange compares live ranges by key and fixed ones by bounds", () => {
  assert.ok(sameRange(presetRange("1h", NOW), presetRange("1h", NOW + 5000)));
  assert.ok(!sameRange(presetRange("1h", NOW), presetRange("24h", NOW)));
  assert.ok(!sameRange(customRange(NOW, NOW + 5000), customRange(NOW, NOW + 6000)));
});
