/// One stored point of a series as the evaluator sees it: a raw value, or a
/// rollup bucket (its average at the bucket's last millisecond, with its sum,
/// minimum, maximum and count, so `*_over_time` stay exact over buckets).
public struct PromSample: Sendable, Equatable {
    public var ts: Int64
    public var value: Double
    public var sum: Double
    public var min: Double
    public var max: Double
    public var count: Int64

    public init(ts: Int64, value: Double) {
        self.init(ts: ts, value: value, sum: value, min: value, max: value, count: 1)
    }

    public init(ts: Int64, value: Double, sum: Double, min: Double, max: Double, count: Int64) {
        self.ts = ts
        self.value = value
        self.sum = sum
        self.min = min
        self.max = max
        self.count = count
    }
}

/// A series read for a selector, its samples in time order.
public struct PromSeriesData: Sendable {
    public var device: String
    public var metric: String
    public var samples: [PromSample]

    public init(device: String, metric: String, samples: [PromSample]) {
        self.device = device
        self.metric = metric
        self.samples = samples
    }

    public var labels: [String: String] { ["__name__": PromNames.exposed(metric), "device": device] }
}

/// An expression's value at every step: one number (a literal's arithmetic)
/// or series, each with a value or none (nil) at each step.
public enum PromValue: Sendable, Equatable {
    case scalar([Double])
    case vector([PromSeriesResult])
}

public struct PromSeriesResult: Sendable, Equatable {
    public var labels: [String: String]
    public var values: [Double?]

    public init(labels: [String: String], values: [Double?]) {
        self.labels = labels
        self.values = values
    }
}

/// Evaluates an expression at steps over series already read: no store, no
/// clock, so each rule is tested on its own.
public struct PromEvaluator: Sendable {
    /// How far back a plain selector looks for a step's value (Prometheus's default).
    public static let lookbackMs: Int64 = 300_000

    let steps: [Int64]
    let data: [PromSelector: [PromSeriesData]]

    /// - Parameters:
    ///   - steps: the evaluation times, ascending, in ms.
    ///   - data: each selector's series, read over `[first step − window, last step]`.
    public init(steps: [Int64], data: [PromSelector: [PromSeriesData]]) {
        self.steps = steps
        self.data = data
    }

    public func evaluate(_ expression: PromExpression) -> PromValue {
        switch expression {
        case .number(let value):
            return .scalar(Array(repeating: value, count: steps.count))
        case .selector(let selector):
            return .vector((data[selector] ?? []).map { series in
                PromSeriesResult(labels: series.labels, values: sampled(series.samples))
            }.filter { $0.values.contains { $0 != nil } })
        case .rangeFunction(let function, let selector, let range):
            return .vector((data[selector] ?? []).map { series in
                var labels = series.labels
                labels["__name__"] = nil
                return PromSeriesResult(labels: labels, values: windows(series.samples, range) { function.apply($0, range: range, end: $1) })
            }.filter { $0.values.contains { $0 != nil } })
        case .aggregation(let aggregation, let grouping, let inner):
            return aggregate(aggregation, grouping, evaluate(inner))
        case .binary(let op, let left, let right):
            return binary(op, evaluate(left), evaluate(right))
        case .negation(let inner):
            return binary(.multiply, evaluate(inner), .scalar(Array(repeating: -1, count: steps.count)))
        }
    }

    /// Each step's last value at or before it, within the lookback.
    private func sampled(_ samples: [PromSample]) -> [Double?] {
        var index = 0
        return steps.map { step in
            while index < samples.count, samples[index].ts <= step { index += 1 }
            guard index > 0, samples[index - 1].ts > step - Self.lookbackMs else { return nil }
            return samples[index - 1].value
        }
    }

    /// `body` over each step's window `(step − range, step]`; nil for an empty window.
    private func windows(_ samples: [PromSample], _ range: Int64, _ body: (ArraySlice<PromSample>, Int64) -> Double?) -> [Double?] {
        var low = 0
        var high = 0
        return steps.map { step in
            while high < samples.count, samples[high].ts <= step { high += 1 }
            while low < high, samples[low].ts <= step - range { low += 1 }
            return low < high ? body(samples[low..<high], step) : nil
        }
    }

    private func aggregate(_ aggregation: PromAggregation, _ grouping: PromGrouping, _ value: PromValue) -> PromValue {
        guard case .vector(let series) = value else {
            // An aggregation of a number is that number (sum(1) = 1, count(1) = 1).
            guard case .scalar(let numbers) = value else { return value }
            return .vector([PromSeriesResult(labels: [:], values: numbers.map { aggregation == .count ? 1 : $0 })])
        }
        var groups: [[String: String]: [PromSeriesResult]] = [:]
        var order: [[String: String]] = []
        for result in series {
            let key = grouping.key(result.labels)
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(result)
        }
        return .vector(order.map { key in
            let members = groups[key] ?? []
            let values = steps.indices.map { step -> Double? in
                let present = members.compactMap { $0.values[step] }
                return present.isEmpty ? nil : aggregation.apply(present)
            }
            return PromSeriesResult(labels: key, values: values)
        })
    }

    private func binary(_ op: PromBinaryOperator, _ left: PromValue, _ right: PromValue) -> PromValue {
        switch (left, right) {
        case (.scalar(let a), .scalar(let b)):
            return .scalar(zip(a, b).map { op.apply($0, $1) })
        case (.vector(let series), .scalar(let numbers)):
            return .vector(series.map { $0.combined(with: numbers, op, numberOnRight: true) })
        case (.scalar(let numbers), .vector(let series)):
            return .vector(series.map { $0.combined(with: numbers, op, numberOnRight: false) })
        case (.vector(let lefts), .vector(let rights)):
            // One-to-one matching on every label but the metric name.
            var byLabels: [[String: String]: PromSeriesResult] = [:]
            for right in rights { byLabels[right.labels.withoutName] = right }
            return .vector(lefts.compactMap { left in
                guard let right = byLabels[left.labels.withoutName] else { return nil }
                let values = zip(left.values, right.values).map { a, b -> Double? in
                    guard let a, let b else { return nil }
                    return op.apply(a, b)
                }
                return PromSeriesResult(labels: left.labels.withoutName, values: values)
            }.filter { $0.values.contains { $0 != nil } })
        }
    }
}

extension PromSeriesResult {
    func combined(with numbers: [Double], _ op: PromBinaryOperator, numberOnRight: Bool) -> PromSeriesResult {
        PromSeriesResult(
            labels: labels.withoutName,
            values: zip(values, numbers).map { value, number in
                value.map { numberOnRight ? op.apply($0, number) : op.apply(number, $0) }
            })
    }
}

extension [String: String] {
    var withoutName: [String: String] {
        var copy = self
        copy["__name__"] = nil
        return copy
    }
}

extension PromGrouping {
    /// The labels a series keeps in its group.
    func key(_ labels: [String: String]) -> [String: String] {
        switch self {
        case .all: return [:]
        case .by(let names): return labels.filter { names.contains($0.key) }
        case .without(let names): return labels.filter { !names.contains($0.key) && $0.key != "__name__" }
        }
    }
}

extension PromAggregation {
    func apply(_ values: [Double]) -> Double {
        switch self {
        case .sum: values.reduce(0, +)
        case .avg: values.reduce(0, +) / Double(values.count)
        case .min: values.min() ?? .nan
        case .max: values.max() ?? .nan
        case .count: Double(values.count)
        }
    }
}
