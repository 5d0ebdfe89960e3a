// One chart's data: the history answer plus live readings, bucketed as the chart's data is.
import { test } from "node:test";
import assert from "node:assert/strict";
import { bucketWidth, Series } from "../../Public/js/series.js";

const HOUR = 3_600_000;
const MINUTE = 60_000;

test("the bucket width is the hub's: nice, aligned, and as few buckets as fit the points", () => {
  // The cases of the hub's own plan tests (HistoryPlanTests.stepsAreNiceAndFit and the month).
  const from = 1_732_000_000_000;
  assert.equal(bucketWidth(from, from + HOUR - 1, 500), 8000);
  assert.equal(bucketWidth(from, from + 24 * HOUR - 1, 500), 180_000);
  assert.equal(bucketWidth(from, from + 7 * 24 * HOUR - 1, 100), 2 * HOUR);
  assert.equal(bucketWidth(from, from + 999, 10), 100);
  const to = 1_732_200_000_000;
  assert.equal(bucketWidth(to - 30 * 24 * HOUR, to, 500), 2 * HOUR);
  for (const points of [60, 61, 333, 590, 1280]) {
    const width = bucketWidth(from, from + HOUR, points);
    assert.ok(Math.floor((from + HOUR) / width) - Math.floor(from / width) + 1 <= points, `${points}: ${width}`);
  }
});

test("a raw answer gives rows with min = avg = max; a live value at a ts it holds overwrites it", () => {
  const series = new Series({ step: 0, points: [[1000, 1], [3000, 3]] }, { from: 0, to: 9999, points: 10_000 });
  assert.equal(series.width, 1);
  series.add(3000, 30);
  series.add(2000, 2);
  assert.deepEqual(series.rows, [[1000, 1, 1, 1, 1], [2000, 2, 2, 2, 1], [3000, 30, 30, 30, 1]]);
  assert.equal(series.loaded, 2);
  assert.deepEqual(series.latest, [3000, 30]);
});

test("live readings on a raw answer are bucketed at the hub's width for the range, not drawn raw", () => {
  // An hour of one value a minute (the demo's history) in 600 points, then a reading every second.
  const to = 1_796_601_000_000;
  const from = to - HOUR;
  const history = Array.from({ length: 60 }, (_, i) => [from + i * MINUTE + 500, 20 + i / 10]);
  const series = new Series({ step: 0, points: history }, { from, to, points: 600 });
  assert.equal(series.width, bucketWidth(from, to, 600));
  assert.equal(series.width, 7000);
  for (let s = 1; s <= 120; s += 1) series.add(to + s * 1000, 30 + (s % 3));
  const live = series.rows.filter(([ts]) => series.isBucket(ts));
  // Two minutes of 1 Hz readings: about one row per 7 s bucket, not 120 raw rows.
  assert.ok(live.length <= Math.ceil(120_000 / 7000) + 1, `${live.length} rows`);
  for (const [start, min, avg, max, count] of live) {
    assert.equal(start % 7000, 0);
    assert.ok(min <= avg && avg <= max && count >= 1);
    assert.ok(series.isBucket(start));
  }
  // Every value is counted once: the 60 of the answer and the 120 live ones.
  assert.equal(series.rows.reduce((sum, row) => sum + row[4], 0), 180);
  assert.equal(series.rows.length - live.length, 60);
  // The history's raw rows stay raw.
  assert.deepEqual(series.rows[0], [from + 500, 20, 20, 20, 1]);
  assert.equal(series.isBucket(from + 500), false);
  assert.deepEqual(series.latest, [to + 120_000, 30]);
});

test("a live reading's bucket takes in the raw values of the answer inside it, as the hub would", () => {
  const series = new Series({ step: 0, points: [[10_000, 4], [12_000, 8], [20_000, 1]] }, { from: 0, to: 59_999, points: 6 });
  assert.equal(series.width, 10_000);
  series.add(15_000, 6);
  assert.deepEqual(series.rows, [[10_000, 4, 6, 8, 3], [20_000, 1, 1, 1, 1]]);
  series.add(16_000, 2);
  assert.deepEqual(series.rows[0], [10_000, 2, 5, 8, 4]);
});

test("a bucketed answer folds live readings into their bucket: min, mean, max, count", () => {
  const series = new Series({ step: 60_000, points: [[60_000, 5, 4, 6, 2]] }, { from: 0, to: 600_000, points: 10 });
  assert.equal(series.width, 60_000);
  series.add(61_000, 8);
  assert.deepEqual(series.rows, [[60_000, 4, 6, 8, 3]]);
  series.add(125_000, 1);
  assert.deepEqual(series.rows[1], [120_000, 1, 1, 1, 1]);
});

test("trimming keeps the bucket that straddles the start", () => {
  const series = new Series({ step: 60_000, points: [[0, 1, 1, 1, 1], [60_000, 1, 1, 1, 1], [120_000, 1, 1, 1, 1]] },
    { from: 0, to: 179_999, points: 10 });
  series.trimBefore(90_000);
  assert.deepEqual(series.rows.map((r) => r[0]), [60_000, 120_000]);
  const raw = new Series({ step: 0, points: [[1, 1], [2, 2], [3, 3]] }, { from: 0, to: 9, points: 10 });
  raw.trimBefore(2);
  assert.deepEqual(raw.rows.map((r) => r[0]), [2, 3]);
  // A live bucket in a raw answer straddles like a bucket.
  const mixed = new Series({ step: 0, points: [[1000, 1]] }, { from: 0, to: 59_999, points: 6 });
  mixed.add(25_000, 2);
  mixed.trimBefore(25_000);
  assert.deepEqual(mixed.rows.map((r) => r[0]), [20_000]);
});

test("a gap between buckets breaks the line", () => {
  const series = new Series({ step: 1000, points: [[0, 1, 1, 1, 1], [3000, 2, 2, 2, 1]] }, { from: 0, to: 9999, points: 10 });
  const rows = series.toDygraph();
  assert.equal(rows.length, 3);
  assert.deepEqual(rows[1], [new Date(1000), null]);
  assert.deepEqual(rows[2][1], [2, 2, 2]);
});
