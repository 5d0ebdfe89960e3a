import Foundation

/// Wall-clock time in the contract's unit, milliseconds since the Unix epoch.
public enum EpochClock {
    public static func nowMs() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
    }
}

/// A span such as `30d`, `12h`, `15m` or `90s`, as `--expires` takes it.
public struct SpanParser {
    public static func milliseconds(_ text: String) -> Int64? {
        guard let unit = text.last, let count = Int64(text.dropLast()), count > 0 else { return nil }
        let factor: Int64
        switch unit {
        case "s": factor = 1000
        case "m": factor = 60_000
        case "h": factor = 3_600_000
        case "d": factor = 86_400_000
        default: return nil
        }
        let (product, overflow) = count.multipliedReportingOverflow(by: factor)
        return overflow ? nil : product
    }
}

/// A size such as `500MB`, `2GB` or `1048576`, as `--max-db-size` takes it (powers of 1024).
public enum ByteSizeParser {
    public static func bytes(_ text: String) -> Int64? {
        let upper = text.uppercased().replacingOccurrences(of: "IB", with: "B")
        let units: [(String, Int64)] = [("TB", 1 << 40), ("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10), ("B", 1)]
        for (suffix, factor) in units where upper.hasSuffix(suffix) {
            guard let count = Int64(upper.dropLast(suffix.count)), count > 0 else { return nil }
            return count.multipliedReportingOverflow(by: factor).overflow ? nil : count * factor
        }
        return Int64(upper).flatMap { $0 > 0 ? $0 : nil }
    }
}
