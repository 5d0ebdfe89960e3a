import Foundation

/// A query of the Prometheus door's language: the subset of PromQL that
/// Grafana's panels over Telehub's series need (contract v1.2, "The
/// Prometheus door"). Built by `PromParser`, evaluated by `PromEvaluator`.
public indirect enum PromExpression: Sendable, Equatable {
    case number(Double)
    /// An instant selector: each series' last value at or before each step, within the lookback.
    case selector(PromSelector)
    /// `function(selector[range])`.
    case rangeFunction(PromRangeFunction, PromSelector, rangeMs: Int64)
    case aggregation(PromAggregation, grouping: PromGrouping, PromExpression)
    case binary(PromBinaryOperator, PromExpression, PromExpression)
    case negation(PromExpression)

    /// What the expression reads: each selector, with how far back of a step it looks.
    public var reads: [PromRead] {
        switch self {
        case .number: []
        case .selector(let selector): [PromRead(selector: selector, windowMs: PromEvaluator.lookbackMs, needsOnlyAggregates: false)]
        case .rangeFunction(let function, let selector, let range):
            [PromRead(selector: selector, windowMs: range, needsOnlyAggregates: function.needsOnlyAggregates)]
        case .aggregation(_, _, let inner), .negation(let inner): inner.reads
        case .binary(_, let left, let right): left.reads + right.reads
        }
    }
}

/// A selector and the window it is read over: the lookback of a plain
/// selector, or the range of a range function.
public struct PromRead: Sendable, Equatable {
    public var selector: PromSelector
    public var windowMs: Int64
    /// Whether sums, counts, minima and maxima of the window are all that is
    /// needed (`avg_over_time` and its kin): rollup buckets then answer exactly.
    public var needsOnlyAggregates: Bool
}

/// `name{label="value",…}`: a metric name is a matcher on `__name__`.
public struct PromSelector: Sendable, Equatable, Hashable {
    public var matchers: [PromMatcher]

    public init(matchers: [PromMatcher]) {
        self.matchers = matchers
    }
}

public struct PromMatcher: Sendable, Equatable, Hashable {
    public enum Kind: String, Sendable {
        case equal = "=", notEqual = "!=", matches = "=~", notMatches = "!~"
    }

    public var label: String
    public var kind: Kind
    public var value: String

    public init(label: String, kind: Kind, value: String) {
        self.label = label
        self.kind = kind
        self.value = value
    }
}

public enum PromRangeFunction: String, Sendable, CaseIterable {
    case avgOverTime = "avg_over_time", minOverTime = "min_over_time", maxOverTime = "max_over_time"
    case countOverTime = "count_over_time", sumOverTime = "sum_over_time", lastOverTime = "last_over_time"
    case rate, increase, delta
}

extension PromRangeFunction {
    var needsOnlyAggregates: Bool {
        switch self {
        case .avgOverTime, .minOverTime, .maxOverTime, .countOverTime, .sumOverTime: true
        case .lastOverTime, .rate, .increase, .delta: false
        }
    }
}

public enum PromAggregation: String, Sendable, CaseIterable {
    case sum, avg, min, max, count
}

/// `by (labels)`, `without (labels)`, or neither (one group).
public enum PromGrouping: Sendable, Equatable {
    case all
    case by([String])
    case without([String])
}

public enum PromBinaryOperator: String, Sendable, CaseIterable {
    case add = "+", subtract = "-", multiply = "*", divide = "/", modulo = "%", power = "^"

    public func apply(_ a: Double, _ b: Double) -> Double {
        switch self {
        case .add: a + b
        case .subtract: a - b
        case .multiply: a * b
        case .divide: a / b
        case .modulo: a.truncatingRemainder(dividingBy: b)
        case .power: Foundation.pow(a, b)
        }
    }
}
