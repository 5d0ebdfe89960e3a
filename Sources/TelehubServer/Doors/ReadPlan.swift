import TelehubCore

/// Which stretch of a series a query reads, and at what resolution.
///
/// An aggregate range function (`avg_over_time` and its kin) at a step its
/// range is a whole number of, on steps
/// aligned to that step (as Grafana aligns them), reads buckets one step
/// wide: the rollups answer `avg_over_time(x[1h])` over a month from 720
/// hour aggregates, and exactly, since each window is whole buckets (taken as
/// `[t − range, t)`). Everything else reads raw values when the series holds
/// at most `rawBudget` of them there, else the finest buckets that fit.
struct ReadPlan: Equatable {
    var from: Int64
    var to: Int64
    var points: Int

    init(_ read: PromRead, first: Int64, last: Int64, stepMs: Int64, rawBudget: Int) {
        from = first - read.windowMs + 1
        to = last
        points = rawBudget
        guard read.needsOnlyAggregates, stepMs > 0, read.windowMs % stepMs == 0 else { return }
        let bucketFrom = first - read.windowMs
        let bucketTo = last - 1
        let buckets = (bucketTo - bucketFrom + 1) / stepMs
        guard buckets > 0, buckets <= Int64(rawBudget) else { return }
        let plan = BucketPlan(from: bucketFrom, to: bucketTo, points: Int(buckets))
        guard plan.step == stepMs, plan.origin == bucketFrom else { return }
        (from, to, points) = (bucketFrom, bucketTo, Int(buckets))
    }
}

extension MetricHistory {
    /// Raw values as they are; a bucket as its average at its last millisecond.
    var promSamples: [PromSample] {
        switch self {
        case .raw(let values):
            return values.map { PromSample(ts: $0.ts, value: $0.value) }
        case .buckets(let step, let buckets):
            return buckets.map { bucket in
                let aggregate = bucket.aggregate
                return PromSample(
                    ts: bucket.start + step - 1, value: aggregate.average, sum: aggregate.sum, min: aggregate.min,
                    max: aggregate.max, count: aggregate.count)
            }
        }
    }
}
