import Foundation

/// One line of an export read back, for `telehub import`: the same bounds
/// as a device's reading, so an import stores nothing ingest would refuse.
public struct ExportRecord: Sendable, Equatable, Decodable {
    public var device: String
    public var metric: String
    public var ts: Int64
    public var value: Double

    public init(device: String, metric: String, ts: Int64, value: Double) {
        self.device = device
        self.metric = metric
        self.ts = ts
        self.value = value
    }

    /// The longest line read, in bytes.
    public static let maxLineBytes = 4096

    /// Reads one line of `format`.
    /// - Returns: nil for the CSV header and blank lines.
    /// - Throws: a message saying what is wrong with the line.
    public static func parse(_ line: Substring, format: ExportFormat) throws(ExportRecordError) -> ExportRecord? {
        let text = line.hasSuffix("\r") ? line.dropLast() : line
        guard !text.allSatisfy(\.isWhitespace) else { return nil }
        guard text.utf8.count <= maxLineBytes else { throw ExportRecordError("longer than \(maxLineBytes) bytes") }
        let record: ExportRecord
        switch format {
        case .csv:
            if text == "device,metric,ts,time,value" { return nil }
            let fields = text.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == 5 else {
                throw ExportRecordError("expected 5 fields (device,metric,ts,time,value), found \(fields.count)")
            }
            guard let ts = Int64(fields[2]) else { throw ExportRecordError("ts \"\(fields[2])\" is not a whole number") }
            guard let value = Double(fields[4]) else { throw ExportRecordError("value \"\(fields[4])\" is not a number") }
            record = ExportRecord(device: String(fields[0]), metric: String(fields[1]), ts: ts, value: value)
        case .ndjson:
            guard let decoded = try? JSONDecoder().decode(ExportRecord.self, from: Data(text.utf8)) else {
                throw ExportRecordError(#"not a {"device","metric","ts","value"} object"#)
            }
            record = decoded
        }
        try record.check()
        return record
    }

    private func check() throws(ExportRecordError) {
        guard NameRules.isValidDeviceName(device) else { throw ExportRecordError("invalid device name \"\(device)\"") }
        guard NameRules.isValidMetricName(metric) else { throw ExportRecordError("invalid metric name \"\(metric)\"") }
        guard (IngestLimits.earliestTimestamp...IngestLimits.maxTime).contains(ts) else {
            throw ExportRecordError("ts \(ts) is outside \(IngestLimits.earliestTimestamp)...\(IngestLimits.maxTime)")
        }
        guard value.isFinite, abs(value) <= IngestLimits.maxMagnitude else {
            throw ExportRecordError("value \(value) is not finite or larger than 1e100 in magnitude")
        }
    }
}

public struct ExportRecordError: Error, Equatable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}
