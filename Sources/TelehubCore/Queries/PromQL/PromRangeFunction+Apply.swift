extension PromRangeFunction {
    /// The function over one window's samples (never empty), ending at `end`.
    func apply(_ window: ArraySlice<PromSample>, range: Int64, end: Int64) -> Double? {
        switch self {
        case .avgOverTime:
            let count = window.reduce(Int64(0)) { $0 + $1.count }
            return window.reduce(0) { $0 + $1.sum } / Double(count)
        case .minOverTime: return window.map(\.min).min()
        case .maxOverTime: return window.map(\.max).max()
        case .countOverTime: return Double(window.reduce(Int64(0)) { $0 + $1.count })
        case .sumOverTime: return window.reduce(0) { $0 + $1.sum }
        case .lastOverTime: return window.last?.value
        case .rate: return Self.extrapolatedDelta(window, range: range, end: end, isCounter: true, perSecond: true)
        case .increase: return Self.extrapolatedDelta(window, range: range, end: end, isCounter: true, perSecond: false)
        case .delta: return Self.extrapolatedDelta(window, range: range, end: end, isCounter: false, perSecond: false)
        }
    }

    /// Prometheus's `extrapolatedRate`: the change between the first and last
    /// sample (for counters, adding back every reset), extrapolated towards
    /// the window's edges by at most half an average sample interval, and
    /// never below zero for a counter. Needs two samples.
    static func extrapolatedDelta(
        _ window: ArraySlice<PromSample>, range: Int64, end: Int64, isCounter: Bool, perSecond: Bool
    ) -> Double? {
        guard window.count >= 2, let first = window.first, let last = window.last else { return nil }
        var change = last.value - first.value
        if isCounter {
            var previous = first.value
            for sample in window.dropFirst() {
                if sample.value < previous { change += previous }
                previous = sample.value
            }
        }
        let start = Double(end - range) / 1000
        let sampled = Double(last.ts - first.ts) / 1000
        guard sampled > 0 else { return nil }
        var toStart = Double(first.ts) / 1000 - start
        var toEnd = Double(end) / 1000 - Double(last.ts) / 1000
        let average = sampled / Double(window.count - 1)
        let threshold = average * 1.1
        if toStart >= threshold { toStart = average / 2 }
        if isCounter, change > 0, first.value >= 0 {
            let toZero = sampled * (first.value / change)
            if toZero < toStart { toStart = toZero }
        }
        if toEnd >= threshold { toEnd = average / 2 }
        let result = change * (sampled + toStart + toEnd) / sampled
        return perSecond ? result / (Double(range) / 1000) : result
    }
}
