/// The stored resolutions of a series, finest first. Rollup tiers hold sum,
/// min, max and count per bucket, so any coarser bucket can be built from
/// them exactly.
public enum Resolution: Int64, Sendable, CaseIterable, Comparable {
    case raw = 1
    case minute = 60_000
    case hour = 3_600_000

    public var milliseconds: Int64 { rawValue }

    public static func < (lhs: Resolution, rhs: Resolution) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The coarsest resolution whose buckets tile a bucket of `step` ms
    /// aligned to a multiple of `step`.
    public static func coarsest(dividing step: Int64) -> Resolution {
        allCases.reversed().first { step % $0.milliseconds == 0 } ?? .raw
    }
}

/// A piece of a time range answered from one resolution. Bounds are inclusive ms.
public struct TimeSegment: Sendable, Equatable {
    public var resolution: Resolution
    public var from: Int64
    public var to: Int64

    public init(_ resolution: Resolution, from: Int64, to: Int64) {
        self.resolution = resolution
        self.from = from
        self.to = to
    }

    /// Splits `[from, to]` into whole buckets of the coarsest resolution up to
    /// `finest` ... `coarsest`, with finer resolutions at the edges, so that
    /// aggregating the segments equals aggregating the raw values.
    ///
    /// For example an hour-level answer to 10:59:30–13:00:10 is raw
    /// 10:59:30–10:59:59.999, hours 11:00–12:59:59.999, then raw again up to 13:00:10.
    public static func cover(from: Int64, to: Int64, upTo coarsest: Resolution) -> [TimeSegment] {
        guard from <= to else { return [] }
        guard coarsest != .raw else { return [TimeSegment(.raw, from: from, to: to)] }
        let width = coarsest.milliseconds
        let start = ceilDiv(from, width) * width
        let end = floorDiv(to + 1, width) * width
        let finer = Resolution.allCases.last { $0 < coarsest } ?? .raw
        guard start < end else { return cover(from: from, to: to, upTo: finer) }
        return cover(from: from, to: start - 1, upTo: finer) + [TimeSegment(coarsest, from: start, to: end - 1)]
            + cover(from: end, to: to, upTo: finer)
    }
}

/// How to answer a history query of `points` values at most over `[from, to]`.
public struct BucketPlan: Sendable, Equatable {
    /// Width of every bucket, ms.
    public var step: Int64
    /// Bucket k covers `[origin + k*step, origin + (k+1)*step)`; a multiple of `step`.
    public var origin: Int64
    /// The coarsest stored resolution that tiles the buckets.
    public var resolution: Resolution

    /// Buckets of a "nice" width (whole seconds, minutes or hours) aligned to
    /// multiples of that width, as few as needed to fit `points`, so the
    /// rollup tiers can answer them exactly.
    /// Arguments out of order or below one point are clamped rather than trapped.
    public init(from: Int64, to: Int64, points: Int) {
        let points = max(1, points)
        let (from, to) = (min(from, to), max(from, to))
        var step = Self.nice(Self.ceilDiv(to - from + 1, Int64(points)))
        var tries = 0
        while Self.bucketCount(from: from, to: to, step: step) > points, tries < Self.maxWidenings {
            tries += 1
            // Usually one unit wider fits. When it does not, crawling on one unit at
            // a time could take hundreds of millions of steps (found by fuzzing: one
            // bucket over most of 2^53 ms), so jump to a width that always fits.
            step = tries < Self.crawlSteps ? Self.nice(step + 1) : Self.nice(max(step + 1, Self.widthThatFits(from, to, points)))
        }
        self.step = step
        self.origin = floorDiv(from, step) * step
        self.resolution = .coarsest(dividing: step)
    }

    static let crawlSteps = 64
    static let maxWidenings = 128

    /// A width whose aligned buckets cover `[from, to]` in at most `points`:
    /// span / (points − 1), since alignment adds at most one bucket; for one
    /// point, wider than both ends (which are not negative on the wire).
    static func widthThatFits(_ from: Int64, _ to: Int64, _ points: Int) -> Int64 {
        points > 1 ? ceilDiv(to - from + 1, Int64(points - 1)) : max(abs(from), abs(to)) + 1
    }

    /// The bucket index of a time.
    public func bucket(of ts: Int64) -> Int64 { (ts - origin) / step }

    public func start(ofBucket index: Int64) -> Int64 { origin + index * step }

    static func bucketCount(from: Int64, to: Int64, step: Int64) -> Int {
        Int(floorDiv(to, step) - floorDiv(from, step) + 1)
    }

    /// Rounds up to whole hours, minutes or seconds once the step reaches them.
    static func nice(_ step: Int64) -> Int64 {
        for unit: Int64 in [3_600_000, 60_000, 1000] where step >= unit {
            return ceilDiv(step, unit) * unit
        }
        return max(1, step)
    }

    static func ceilDiv(_ a: Int64, _ b: Int64) -> Int64 { TelehubCore.ceilDiv(a, b) }
}

/// Sum, min, max and count of some values; merging two gives the aggregate of both.
public struct Aggregate: Sendable, Equatable {
    public var sum: Double
    public var min: Double
    public var max: Double
    public var count: Int64

    public init(sum: Double, min: Double, max: Double, count: Int64) {
        self.sum = sum
        self.min = min
        self.max = max
        self.count = count
    }

    public init(value: Double) {
        self.init(sum: value, min: value, max: value, count: 1)
    }

    public mutating func merge(_ other: Aggregate) {
        sum += other.sum
        min = Swift.min(min, other.min)
        max = Swift.max(max, other.max)
        count += other.count
    }

    public var average: Double { sum / Double(count) }
}

/// The answer of `GET /v1/devices/{name}/metrics/{metric}`.
public enum MetricHistory: Sendable, Equatable {
    /// Every stored value in the range: `[ts, value]`.
    case raw([(ts: Int64, value: Double)])
    /// Non-empty buckets: start and aggregate.
    case buckets(step: Int64, [(start: Int64, aggregate: Aggregate)])

    public static func == (lhs: MetricHistory, rhs: MetricHistory) -> Bool {
        switch (lhs, rhs) {
        case (.raw(let a), .raw(let b)):
            return a.elementsEqual(b) { $0.ts == $1.ts && $0.value == $1.value }
        case (.buckets(let s, let a), .buckets(let t, let b)):
            return s == t && a.elementsEqual(b) { $0.start == $1.start && $0.aggregate == $1.aggregate }
        default:
            return false
        }
    }
}
