import Foundation

/// Times and durations as the Prometheus HTTP API takes and gives them.
public enum PromTime {
    /// `5m`, `1h30m`, `90s`, `250ms`, `1d`, `1w`, `1y`; or a plain number of seconds (the `step` parameter).
    public static func duration(_ text: String) -> Int64? {
        if let seconds = Double(text), seconds.isFinite, seconds >= 0, seconds <= 1e10 { return Int64((seconds * 1000).rounded()) }
        let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000), ("w", 604_800_000), ("y", 31_536_000_000)]
        var total: Int64 = 0
        var rest = Substring(text)
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, digits.count <= 12, let count = Int64(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            guard let (unit, ms) = units.first(where: { rest.hasPrefix($0.0) && !(($0.0 == "m") && rest.hasPrefix("ms")) }) else {
                return nil
            }
            rest = rest.dropFirst(unit.count)
            let (product, overflow) = count.multipliedReportingOverflow(by: ms)
            guard !overflow, product <= IngestLimits.maxTime else { return nil }
            total += product
        }
        return total <= IngestLimits.maxTime ? total : nil
    }

    /// A time parameter: Unix seconds (with a fraction) or RFC 3339.
    public static func time(_ text: String) -> Int64? {
        if let seconds = Double(text), seconds.isFinite, abs(seconds) < 1e13 { return Int64((seconds * 1000).rounded()) }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return Int64((date.timeIntervalSince1970 * 1000).rounded()) }
        formatter.formatOptions = [.withInternetDateTime]
        if let date = formatter.date(from: text) { return Int64((date.timeIntervalSince1970 * 1000).rounded()) }
        return nil
    }

    /// Milliseconds as the API writes a time: seconds, with the fraction only when there is one.
    public static func seconds(_ ms: Int64) -> String {
        let whole = ms.quotientAndRemainder(dividingBy: 1000)
        if whole.remainder == 0 { return String(whole.quotient) }
        return String(Double(ms) / 1000)
    }

    /// A sample value as Prometheus writes it (Go's `FormatFloat(v, 'f', -1, 64)`
    /// for ordinary numbers): `2`, `21.5`, `NaN`, `+Inf`.
    public static func value(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}
