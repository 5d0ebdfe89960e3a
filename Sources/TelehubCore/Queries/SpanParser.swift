/// A span such as `30d`, `12h`, `15m`, `90s` or `1500ms`, as `--expires` and
/// the retention settings take it.
public struct SpanParser {
    private static let units: [(String, Int64)] = [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)]

    public static func milliseconds(_ text: String) -> Int64? {
        // "ms" before "m" and "s": the longest suffix that matches.
        guard let (suffix, factor) = units.filter({ text.hasSuffix($0.0) }).max(by: { $0.0.count < $1.0.count }),
            let count = Int64(text.dropLast(suffix.count)), count > 0
        else { return nil }
        let (product, overflow) = count.multipliedReportingOverflow(by: factor)
        return overflow ? nil : product
    }

    /// The span in the largest unit that divides it: `30d`, `90s`, `1500ms`.
    public static func format(_ milliseconds: Int64) -> String {
        let (suffix, factor) = units.first { milliseconds % $0.1 == 0 } ?? ("ms", 1)
        return "\(milliseconds / factor)\(suffix)"
    }
}
