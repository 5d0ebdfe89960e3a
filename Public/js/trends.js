// The last hour of every metric shown on the overview, as one average per
// minute: loaded once from the history endpoint, then extended from live
// readings, so a card's sparkline stays current without polling and its
// size stays bounded however fast a device reports.

import { fetchHistory } from "./api.js";

export const TREND_WINDOW_MS = 3_600_000;
const STEP_MS = 60_000;
/**
 * The hub aligns buckets to multiples of their width, so a window that does
 * not start on a minute touches one bucket more than it is long: asking for
 * 60 would get 2-minute buckets, 61 gets 1-minute ones.
 */
const POINTS = TREND_WINDOW_MS / STEP_MS + 1;
/** History requests in flight at once: a fleet of hundreds must not flood the hub at page load. */
const CONCURRENCY = 3;

/** @typedef {{buckets: Map<number, {sum: number, count: number}>, state: "queued"|"loading"|"loaded"|"failed"}} Trend */

export class TrendStore {
  /** @type {Map<string, Trend>} keyed by device NUL metric */
  #trends = new Map();
  /** @type {string[]} */
  #queue = [];
  #active = 0;
  #onChange;

  /** @param {(device: string) => void} onChange  a device's trend data changed */
  constructor(onChange) {
    this.#onChange = onChange;
  }

  /** Starts tracking a metric (idempotent); its history is fetched in the background. */
  want(device, metric) {
    const key = keyOf(device, metric);
    const trend = this.#trends.get(key);
    if (!trend) this.#trends.set(key, { buckets: new Map(), state: "queued" });
    else if (trend.state !== "failed") return;
    else trend.state = "queued";
    this.#queue.push(key);
    this.#pump();
  }

  /** A live reading; ignored for metrics nobody asked for. */
  add(device, metric, ts, value) {
    const trend = this.#trends.get(keyOf(device, metric));
    if (!trend) return;
    addTo(trend.buckets, ts, value);
    prune(trend.buckets, Date.now());
  }

  /** [minute, average] pairs inside the window ending `now`, oldest first. */
  points(device, metric, now = Date.now()) {
    const trend = this.#trends.get(keyOf(device, metric));
    if (!trend) return [];
    const from = now - TREND_WINDOW_MS;
    return [...trend.buckets]
      .filter(([start]) => start >= from - STEP_MS)
      .sort(([a], [b]) => a - b)
      .map(([start, { sum, count }]) => [Math.max(start, from), sum / count]);
  }

  /** After the stream reported missed data: fetch every trend again. */
  reloadAll() {
    for (const [key, trend] of this.#trends) {
      if (trend.state === "queued" || trend.state === "loading") continue;
      trend.state = "queued";
      this.#queue.push(key);
    }
    this.#pump();
  }

  /** Retries the ones that failed, e.g. once the hub is reachable again. */
  retryFailed() {
    for (const [key, trend] of this.#trends) {
      if (trend.state === "failed") {
        trend.state = "queued";
        this.#queue.push(key);
      }
    }
    this.#pump();
  }

  /** Forgets devices that are gone (not in `names`). */
  keepOnly(names) {
    for (const key of this.#trends.keys()) if (!names.has(key.split("\0")[0])) this.#trends.delete(key);
  }

  clear() {
    this.#trends.clear();
    this.#queue = [];
  }

  #pump() {
    while (this.#active < CONCURRENCY && this.#queue.length) {
      const key = this.#queue.shift();
      if (this.#trends.get(key)?.state !== "queued") continue;
      this.#active += 1;
      this.#load(key).finally(() => {
        this.#active -= 1;
        this.#pump();
      });
    }
  }

  async #load(key) {
    const trend = this.#trends.get(key);
    const [device, metric] = key.split("\0");
    trend.state = "loading";
    const to = Date.now();
    try {
      const answer = await fetchHistory(device, metric, { from: to - TREND_WINDOW_MS, to, points: POINTS });
      merge(trend.buckets, answer, to);
      trend.state = "loaded";
      this.#onChange(device);
    } catch {
      // Hub unreachable or restarting: retried when the stream comes back.
      trend.state = "failed";
    }
  }
}

function keyOf(device, metric) {
  return `${device}\0${metric}`;
}

function addTo(buckets, ts, value, count = 1) {
  const start = ts - (ts % STEP_MS);
  const bucket = buckets.get(start);
  if (bucket) {
    bucket.sum += value * count;
    bucket.count += count;
  } else {
    buckets.set(start, { sum: value * count, count });
  }
}

/**
 * Takes the history answer as the truth for every minute it covers, except
 * the minute it was asked in: live readings of that minute may already be
 * here and may be in the answer too, so that minute keeps the live values
 * (a sparkline can afford the approximation; counting a value twice it can't).
 */
function merge(buckets, answer, to) {
  const current = to - (to % STEP_MS);
  for (const start of [...buckets.keys()]) if (start < current) buckets.delete(start);
  const fresh = new Map();
  for (const point of answer.points) {
    // Raw: [ts, value]; bucketed: [start, avg, min, max, count].
    if (answer.step === 0) addTo(fresh, point[0], point[1]);
    else addTo(fresh, point[0], point[1], point[4]);
  }
  for (const [start, bucket] of fresh) if (!(start >= current && buckets.has(start))) buckets.set(start, bucket);
  prune(buckets, Date.now());
}

function prune(buckets, now) {
  const oldest = now - TREND_WINDOW_MS - STEP_MS;
  for (const start of buckets.keys()) if (start < oldest) buckets.delete(start);
}
