// One metric's chart data for one range: the history endpoint's answer plus
// readings that arrived live. Plain data, no DOM and no dygraphs, so the
// merge rules are easy to follow (and to test in isolation).
//
// Rows are [ts, min, avg, max, count]. A raw answer (step 0) gives rows with
// min = avg = max; a bucketed answer gives one row per non-empty bucket.
//
// Live readings are bucketed the way the chart's data is: into the answer's
// buckets, or, when the answer was raw, into the buckets the hub would have
// used for this range and point budget had the values not fitted (see
// `bucketWidth`). So a device reporting every second adds at most one point
// per pixel to a chart of an hour, as a reload would show it, not a dense
// band of raw values at the right edge.

/** @typedef {[number, number, number, number, number]} Row */

export class Series {
  /** Bucket width of the answer in ms; 0 when its rows are raw values. */
  step = 0;
  /** Bucket width for live readings: `step`, or for a raw answer the hub's width for the range. */
  width = 1;
  /** Points in the history answer, before any live reading was merged in. */
  loaded = 0;
  /** @type {Row[]} */
  rows = [];
  /** @type {[number, number]|null} the newest reading as [ts, value], for "latest …" */
  latest = null;
  /** Starts of the rows live readings were folded into, in a raw answer (all rows are buckets otherwise). */
  #buckets = new Set();

  /**
   * @param {{step: number, points: number[][]}} answer  from `fetchHistory`
   * @param {{from: number, to: number, points: number}} query  what the answer was asked for
   */
  constructor(answer, { from, to, points }) {
    this.step = answer.step;
    this.width = answer.step || bucketWidth(from, to, points);
    this.loaded = answer.points.length;
    this.rows = answer.step === 0
      ? answer.points.map(([ts, value]) => [ts, value, value, value, 1])
      : answer.points.map(([start, avg, min, max, count]) => [start, min, avg, max, count]);
    const last = answer.step === 0 ? answer.points.at(-1) : null;
    if (last) this.latest = [last[0], last[1]];
  }

  /**
   * Adds a live reading. A raw value of the answer at the same ts is
   * overwritten, as in the store (it is often the same reading, which
   * arrived while the history request was out); any other reading is folded
   * into its bucket, aligned as the hub aligns them (starts are multiples
   * of the width).
   */
  add(ts, value) {
    if (!this.latest || ts >= this.latest[0]) this.latest = [ts, value];
    if (this.step === 0 && this.#overwriteRaw(ts, value)) return;
    this.#fold(ts - (ts % this.width), value);
  }

  /** True when `ts` starts a bucket row rather than being a raw value. */
  isBucket(ts) {
    return this.step > 0 || this.#buckets.has(ts);
  }

  /** Drops rows older than `from`, as a live range slides forward; a bucket straddling it stays. */
  trimBefore(from) {
    let drop = 0;
    while (drop < this.rows.length) {
      const start = this.rows[drop][0];
      if (start >= (this.isBucket(start) ? from - this.width : from)) break;
      this.#buckets.delete(start);
      drop += 1;
    }
    if (drop) this.rows.splice(0, drop);
  }

  /**
   * Rows for dygraphs with `customBars`: [Date, [min, avg, max]]. Missing
   * buckets become a null row, so the line breaks where the device was
   * silent instead of drawing a slope across the gap.
   */
  toDygraph() {
    const data = [];
    let previous = null;
    for (const [ts, min, avg, max] of this.rows) {
      if (this.step > 0 && previous !== null && ts - previous > this.step) {
        data.push([new Date(previous + this.step), null]);
      }
      data.push([new Date(ts), [min, avg, max]]);
      previous = ts;
    }
    return data;
  }

  #overwriteRaw(ts, value) {
    const index = this.#indexOf(ts);
    if (this.rows[index]?.[0] !== ts || this.#buckets.has(ts)) return false;
    this.rows[index] = [ts, value, value, value, 1];
    return true;
  }

  /** Merges the value and every row inside [start, start + width) into one bucket row. */
  #fold(start, value) {
    const first = this.#indexOf(start);
    let end = first;
    /** @type {Row} */
    const bucket = [start, value, value, value, 1];
    while (end < this.rows.length && this.rows[end][0] < start + this.width) {
      const [, min, avg, max, count] = this.rows[end];
      const total = bucket[4] + count;
      bucket[1] = Math.min(bucket[1], min);
      bucket[2] += (avg - bucket[2]) * (count / total);
      bucket[3] = Math.max(bucket[3], max);
      bucket[4] = total;
      this.#buckets.delete(this.rows[end][0]);
      end += 1;
    }
    this.rows.splice(first, end - first, bucket);
    if (this.step === 0) this.#buckets.add(start);
  }

  /** Index of the first row at or after `ts`; live readings almost always go last, so look there first. */
  #indexOf(ts) {
    const rows = this.rows;
    if (rows.length === 0 || rows[rows.length - 1][0] < ts) return rows.length;
    let lo = 0;
    let hi = rows.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (rows[mid][0] < ts) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** After this many one-unit widenings the hub jumps to a width that surely fits. */
const CRAWL_STEPS = 64;
const MAX_WIDENINGS = 128;

/**
 * The bucket width the hub uses for `points` over [from, to] (its
 * BucketPlan): about span / points, rounded up to whole seconds, minutes or
 * hours once it reaches them, then widened until the buckets, aligned to
 * multiples of the width, number at most `points`.
 */
export function bucketWidth(from, to, points) {
  const budget = Math.max(1, Math.floor(points));
  const [lo, hi] = [Math.min(from, to), Math.max(from, to)];
  let width = nice(Math.ceil((hi - lo + 1) / budget));
  for (let tries = 1; bucketCount(lo, hi, width) > budget && tries <= MAX_WIDENINGS; tries += 1) {
    const fits = budget > 1 ? Math.ceil((hi - lo + 1) / (budget - 1)) : Math.max(Math.abs(lo), Math.abs(hi)) + 1;
    width = tries < CRAWL_STEPS ? nice(width + 1) : nice(Math.max(width + 1, fits));
  }
  return width;
}

function nice(width) {
  for (const unit of [3_600_000, 60_000, 1000]) if (width >= unit) return Math.ceil(width / unit) * unit;
  return Math.max(1, width);
}

function bucketCount(from, to, width) {
  return Math.floor(to / width) - Math.floor(from / width) + 1;
}
