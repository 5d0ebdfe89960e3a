import Foundation

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
