// One chart's data: the history answer plus live readings.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Series } from "../../Public/js/series.js";

test("a raw answer gives rows with min = avg = max; live readings insert in order and overwrite", () => {
  const series = new Series({ step: 0, points: [[1000, 1], [3000, 3]] }, 100);
  series.add(2000, 2);
  series.add(4000, 4);
  series.add(3000, 30);
  assert.deepEqual(series.rows.map((r) => [r[0], r[2]]), [[1000, 1], [2000, 2], [3000, 30], [4000, 4]]);
  assert.equal(series.loaded, 2);
});

test("a bucketed answer folds live readings into their bucket: min, running mean, max, count", () => {
  const series = new Series({ step: 60_000, points: [[60_000, 5, 4, 6, 2]] }, 100);
  series.add(61_000, 8);
  assert.deepEqual(series.rows, [[60_000, 4, 6, 8, 3]]);
  series.add(125_000, 1);
  assert.deepEqual(series.rows[1], [120_000, 1, 1, 1, 1]);
});

test("a raw series much denser than the chart asks to be reloaded as buckets", () => {
  const series = new Series({ step: 0, points: [] }, 2);
  for (let i = 0; i < 6; i += 1) series.add(i * 1000, i);
  assert.equal(series.overfull, false);
  series.add(6000, 6);
  assert.equal(series.overfull, true);
  assert.equal(new Series({ step: 1000, points: [] }, 1).overfull, false);
});

test("trimming keeps the bucket that straddles the start", () => {
  const series = new Series({ step: 60_000, points: [[0, 1, 1, 1, 1], [60_000, 1, 1, 1, 1], [120_000, 1, 1, 1, 1]] }, 10);
  series.trimBefore(90_000);
  assert.deepEqual(series.rows.map((r) => r[0]), [60_000, 120_000]);
  const raw = new Series({ step: 0, points: [[1, 1], [2, 2], [3, 3]] }, 10);
  raw.trimBefore(2);
  assert.deepEqual(raw.rows.map((r) => r[0]), [2, 3]);
});

test("a gap between buckets breaks the line", () => {
  const series = new Series({ step: 1000, points: [[0, 1, 1, 1, 1], [3000, 2, 2, 2, 1]] }, 10);
  const rows = series.toDygraph();
  assert.equal(rows.length, 3);
  assert.deepEqual(rows[1], [new Date(1000), null]);
  assert.deepEqual(rows[2][1], [2, 2, 2]);
});
