/// The row formats of `/v1/export.csv` and `telehub export`.
public enum ExportFormat: String, Sendable, CaseIterable {
    case csv
    case ndjson

    public var contentType: String {
        switch self {
        case .csv: "text/csv; charset=utf-8"
        case .ndjson: "application/x-ndjson"
        }
    }

    /// The first line, if the format has one.
    public var header: String? {
        self == .csv ? "device,metric,ts,time,value\n" : nil
    }

    /// One value as a line. Device and metric names never need CSV quoting:
    /// the name rules allow no commas, quotes or spaces.
    public func line(device: String, metric: String, ts: Int64, value: Double) -> String {
        switch self {
        case .csv:
            return "\(device),\(metric),\(ts),\(RFC3339.format(ms: ts)),\(NumberText.format(value))\n"
        case .ndjson:
            return #"{"device":"\#(device)","metric":"\#(metric)","ts":\#(ts),"value":\#(NumberText.format(value))}"# + "\n"
        }
    }
}

/// Numbers as JSON and CSV readers expect them: integral values without a fraction.
public enum NumberText {
    /// Non-finite values (only possible in files written before values were
    /// bounded) are written as `null`, so the output stays valid JSON.
    public static func format(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        if value.rounded() == value, abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}

/// `2024-11-21T14:40:00.123Z` from epoch milliseconds, without Foundation's
/// date formatters (an export writes millions of these).
public enum RFC3339 {
    public static func format(ms: Int64) -> String {
        let days = floorDiv(ms, 86_400_000)
        let msOfDay = ms - days * 86_400_000
        let (year, month, day) = civil(fromDays: days)
        let hours = msOfDay / 3_600_000
        let minutes = msOfDay / 60_000 % 60
        let seconds = msOfDay / 1000 % 60
        let millis = msOfDay % 1000
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(hours, 2)):\(pad(minutes, 2)):\(pad(seconds, 2)).\(pad(millis, 3))Z"
    }

    /// Year, month and day of a day count from 1970-01-01 (Howard Hinnant's
    /// days-to-civil algorithm); also the `Date` header's (`HTTPDate`).
    public static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = floorDiv(z, 146_097)
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }
}
