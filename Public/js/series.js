// One metric's chart data for one range: the history endpoint's answer plus
// readings that arrived live. Plain data, no DOM and no dygraphs, so the
// merge rules are easy to follow (and to test in isolation).
//
// Rows are [ts, min, avg, max, count]. A raw answer (step 0) gives rows with
// min = avg = max; a bucketed answer gives one row per non-empty bucket.

/** A raw series this much larger than the chart is wide is better reloaded, as buckets. */
const OVERFULL_FACTOR = 3;

export class Series {
  /** Bucket width in ms; 0 when the rows are raw values. */
  step = 0;
  /** Points in the history answer, before any live reading was merged in. */
  loaded = 0;
  /** @type {Array<[number, number, number, number, number]>} */
  rows = [];
  #maxPoints;

  /**
   * @param {{step: number, points: number[][]}} answer  from `fetchHistory`
   * @param {number} maxPoints  the `points` the answer was asked for
   */
  constructor(answer, maxPoints) {
    this.step = answer.step;
    this.loaded = answer.points.length;
    this.#maxPoints = maxPoints;
    this.rows = answer.step === 0
      ? answer.points.map(([ts, value]) => [ts, value, value, value, 1])
      : answer.points.map(([start, avg, min, max, count]) => [start, min, avg, max, count]);
  }

  /** True once live readings have made a raw series much denser than the chart can show. */
  get overfull() {
    return this.step === 0 && this.rows.length > OVERFULL_FACTOR * this.#maxPoints;
  }

  /**
   * Adds a live reading: raw series insert it (the same ts overwrites, as in
   * the store); bucketed ones fold it into its bucket, aligned as the hub
   * aligns them (bucket starts are multiples of the step).
   */
  add(ts, value) {
    if (this.step === 0) this.#insert([ts, value, value, value, 1]);
    else this.#fold(ts - (ts % this.step), value);
  }

  /** Drops rows older than `from`, as a live range slides forward. */
  trimBefore(from) {
    const keepFrom = this.step === 0 ? from : from - this.step;
    let drop = 0;
    while (drop < this.rows.length && this.rows[drop][0] < keepFrom) drop += 1;
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

  #insert(row) {
    const index = this.#indexOf(row[0]);
    if (this.rows[index]?.[0] === row[0]) this.rows[index] = row;
    else this.rows.splice(index, 0, row);
  }

  #fold(start, value) {
    const index = this.#indexOf(start);
    const row = this.rows[index];
    if (row?.[0] !== start) {
      this.rows.splice(index, 0, [start, value, value, value, 1]);
      return;
    }
    const count = row[4] + 1;
    row[1] = Math.min(row[1], value);
    row[2] += (value - row[2]) / count;
    row[3] = Math.max(row[3], value);
    row[4] = count;
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
