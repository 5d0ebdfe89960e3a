/// A query string that breaks the read API's bounds: answered with 400
/// `{"error":"invalid_query","message":…}`.
public struct QueryError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}

/// The bounded parameters of `GET /v1/devices/{name}/metrics/{metric}`.
///
/// Times are integers from 0 to 2^53 − 1 and `from` ≤ `to`, so no arithmetic
/// on them (bucket widths, rollup edges) can overflow.
public struct HistoryQuery: Sendable, Equatable {
    public static let defaultPoints = 500
    public static let maxPoints = 10_000
    public static let defaultSpanMs: Int64 = 3_600_000

    public var from: Int64
    public var to: Int64
    public var points: Int

    /// - Parameters:
    ///   - parameter: the raw value of a query parameter by name, nil when absent.
    ///   - now: `to` when it is left out.
    public init(parameter: (String) -> Substring?, now: Int64) throws(QueryError) {
        let to = try QueryValue.time(parameter("to"), name: "to") ?? min(max(now, 0), IngestLimits.maxTime)
        let from = try QueryValue.time(parameter("from"), name: "from") ?? max(0, to - Self.defaultSpanMs)
        guard from <= to else { throw QueryError("from (\(from)) is after to (\(to))") }
        let points = try QueryValue.integer(parameter("points"), name: "points") ?? Int64(Self.defaultPoints)
        guard points >= 1 else { throw QueryError("points must be at least 1") }
        self.from = from
        self.to = to
        // Larger requests are answered with the cap rather than refused.
        self.points = Int(min(points, Int64(Self.maxPoints)))
    }
}

/// The query of `GET /v1/devices/{name}/metrics/{metric}` as text, as the
/// server's query decoding reads it; `HistoryQuery` checks it.
public struct HistoryParameters: Decodable, Sendable, Equatable {
    public var from: String?
    public var to: String?
    public var points: String?

    public init(from: String? = nil, to: String? = nil, points: String? = nil) {
        self.from = from
        self.to = to
        self.points = points
    }
}

extension HistoryQuery {
    public init(_ parameters: HistoryParameters, now: Int64) throws(QueryError) {
        try self.init(parameter: { name in
            switch name {
            case "from": parameters.from.map { Substring($0) }
            case "to": parameters.to.map { Substring($0) }
            case "points": parameters.points.map { Substring($0) }
            default: nil
            }
        }, now: now)
    }
}

/// The query of `GET /v1/export.csv` as text; `ExportQuery` checks it.
public struct ExportParameters: Decodable, Sendable, Equatable {
    public var device: String?
    public var metric: String?
    public var from: String?
    public var to: String?
    public var format: String?

    public init(device: String? = nil, metric: String? = nil, from: String? = nil, to: String? = nil, format: String? = nil) {
        self.device = device
        self.metric = metric
        self.from = from
        self.to = to
        self.format = format
    }
}

extension ExportQuery {
    public init(_ parameters: ExportParameters) throws(QueryError) {
        try self.init(parameter: { name in
            switch name {
            case "device": parameters.device.map { Substring($0) }
            case "metric": parameters.metric.map { Substring($0) }
            case "from": parameters.from.map { Substring($0) }
            case "to": parameters.to.map { Substring($0) }
            case "format": parameters.format.map { Substring($0) }
            default: nil
            }
        })
    }
}

/// The query of `GET /v1/stream`: filters, the resume position for clients
/// that cannot send `Last-Event-ID`, and the read token for those that cannot
/// send headers (`EventSource`).
public struct StreamParameters: Decodable, Sendable, Equatable {
    public var device: String?
    public var metric: String?
    public var lastEventId: String?
    public var token: String?

    public init(device: String? = nil, metric: String? = nil, lastEventId: String? = nil, token: String? = nil) {
        self.device = device
        self.metric = metric
        self.lastEventId = lastEventId
        self.token = token
    }

    /// A comma-separated filter as a set; nil when absent or empty.
    public static func list(_ value: String?) -> Set<String>? {
        guard let value, !value.isEmpty else { return nil }
        return Set(value.split(separator: ",").prefix(QueryValue.maxNames).map(String.init))
    }
}

/// The bounded parameters of `GET /v1/export.csv` and `telehub export`.
public struct ExportQuery: Sendable, Equatable {
    public var devices: Set<String>?
    public var metrics: Set<String>?
    public var from: Int64?
    public var to: Int64?
    public var format: ExportFormat

    public init(parameter: (String) -> Substring?) throws(QueryError) {
        devices = try QueryValue.names(parameter("device"), name: "device", isValid: NameRules.isValidDeviceName)
        metrics = try QueryValue.names(parameter("metric"), name: "metric", isValid: NameRules.isValidMetricName)
        from = try QueryValue.time(parameter("from"), name: "from")
        to = try QueryValue.time(parameter("to"), name: "to")
        if let from, let to, from > to { throw QueryError("from (\(from)) is after to (\(to))") }
        switch parameter("format") {
        case nil, "": format = .csv
        case let value?:
            guard let format = ExportFormat(rawValue: String(value)) else {
                throw QueryError("format must be csv or ndjson")
            }
            self.format = format
        }
    }
}

/// Parsing of single query values, shared by the read queries.
public enum QueryValue {
    /// Names in one parameter, comma-separated; at most this many.
    public static let maxNames = 1000

    /// An integer time in ms, 0 to 2^53 − 1; nil when absent or empty.
    public static func time(_ value: Substring?, name: String) throws(QueryError) -> Int64? {
        guard let number = try integer(value, name: name) else { return nil }
        guard (0...IngestLimits.maxTime).contains(number) else {
            throw QueryError("\(name) must be between 0 and \(IngestLimits.maxTime) (milliseconds since the Unix epoch)")
        }
        return number
    }

    /// An integer; nil when absent or empty.
    public static func integer(_ value: Substring?, name: String) throws(QueryError) -> Int64? {
        guard let value, !value.isEmpty else { return nil }
        guard value.utf8.count <= 20, let number = Int64(value) else {
            throw QueryError("\(name) must be an integer")
        }
        return number
    }

    /// A comma-separated list of names that each follow `isValid`; nil when absent or empty.
    public static func names(_ value: Substring?, name: String, isValid: (String) -> Bool) throws(QueryError)
        -> Set<String>?
    {
        guard let value, !value.isEmpty else { return nil }
        let names = value.split(separator: ",", omittingEmptySubsequences: true)
        guard names.count <= maxNames else { throw QueryError("\(name): at most \(maxNames) names") }
        var result = Set<String>()
        for item in names {
            let text = String(item)
            guard isValid(text) else { throw QueryError("\(name): invalid name \"\(text.prefix(64))\"") }
            result.insert(text)
        }
        return result.isEmpty ? nil : result
    }
}

/// `Last-Event-ID` (header or `lastEventId`): a stream position, a
/// non-negative integer. Anything else is ignored, as a fresh stream.
public enum StreamPosition {
    public static func parse(_ text: some StringProtocol) -> Int64? {
        guard text.utf8.count <= 64 else { return nil }
        let trimmed = text.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed()
        guard let value = Int64(String(trimmed)), value >= 0 else { return nil }
        return value
    }
}
