import Foundation

/// Turns the bytes of one device message into a `DeviceMessage`, or into the
/// first rejection found, with the path of the offending field.
///
/// A message is validated whole: one bad reading rejects the whole message, so
/// a device never has to guess which part of a batch was stored.
public struct MessageValidator: Sendable {
    public var limits: IngestLimits
    /// WebSocket messages must carry `seq`; HTTP ingest may leave it out.
    public var requiresSeq: Bool

    public init(limits: IngestLimits = .init(), requiresSeq: Bool = true) {
        self.limits = limits
        self.requiresSeq = requiresSeq
    }

    /// - Parameters:
    ///   - bytes: the UTF-8 text of the message.
    ///   - now: the receive time in epoch ms; it stamps readings without `ts`
    ///     and bounds how far into the future a `ts` may lie.
    public func validate(_ bytes: some Collection<UInt8>, now: Int64) -> Result<DeviceMessage, IngestRejection> {
        // JSON text is UTF-8 (RFC 8259 §8.1); the decoder would let invalid bytes
        // in strings through. WebSocket text frames are checked already; HTTP bodies are not.
        guard String(validating: bytes, as: UTF8.self) != nil else {
            return .failure(IngestRejection(.invalidJSON, "message is not valid UTF-8"))
        }
        guard !JSONDepth.exceeds(bytes, limit: JSONDepth.maxDeviceMessageDepth) else {
            return .failure(IngestRejection(
                .invalidJSON, "JSON nested deeper than \(JSONDepth.maxDeviceMessageDepth) levels"))
        }
        let root: JSONValue
        do {
            root = try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
        } catch {
            return .failure(IngestRejection(.invalidJSON, "message is not valid JSON"))
        }
        guard case .object(let fields) = root else {
            return .failure(IngestRejection(.invalidMessage, "expected a JSON object"))
        }
        let seq = fields["seq"].flatMap(Self.positiveInteger)
        return Result { try message(fields, now: now) }
            .mapError { error in
                var rejection = error as? IngestRejection ?? IngestRejection(.invalidMessage, "\(error)")
                rejection.seq = seq
                return rejection
            }
    }

    public func validate(_ text: String, now: Int64) -> Result<DeviceMessage, IngestRejection> {
        validate(text.utf8, now: now)
    }

    // MARK: - Messages

    private func message(_ fields: [String: JSONValue], now: Int64) throws -> DeviceMessage {
        guard let typeValue = fields["type"] else {
            throw IngestRejection(.invalidMessage, "type: required")
        }
        guard case .string(let type) = typeValue else {
            throw IngestRejection(.invalidMessage, "type: expected a string")
        }
        switch type {
        case "ping":
            return .ping(id: try pingID(fields["id"]))
        case "reading":
            let seq = try sequence(fields["seq"])
            let reading = try self.reading(fields, path: "", now: now)
            return .ingest(IngestMessage(seq: seq, readings: [reading]))
        case "batch":
            let seq = try sequence(fields["seq"])
            return .ingest(IngestMessage(seq: seq, readings: try readings(fields["readings"], now: now)))
        default:
            throw IngestRejection(.invalidMessage, "type: unknown message type \"\(type)\"")
        }
    }

    private func sequence(_ value: JSONValue?) throws -> Int64? {
        guard let value, value != .null else {
            if requiresSeq { throw IngestRejection(.invalidMessage, "seq: required") }
            return nil
        }
        guard let seq = Self.positiveInteger(value) else {
            throw IngestRejection(.invalidMessage, "seq: expected an integer from 1 to \(IngestLimits.maxSeq)")
        }
        return seq
    }

    /// A ping's `id` is echoed back, so it is bounded: a string of at most
    /// `maxPingIDBytes` bytes, or a number.
    private func pingID(_ value: JSONValue?) throws -> JSONValue? {
        switch value {
        case nil, .null?, .integer?, .number?:
            return value
        case .string(let text)? where text.utf8.count <= IngestLimits.maxPingIDBytes:
            return value
        case .string?:
            throw IngestRejection(.invalidMessage, "id: at most \(IngestLimits.maxPingIDBytes) bytes")
        case let other?:
            throw IngestRejection(.invalidMessage, "id: expected a string or a number, got \(other.typeName)")
        }
    }

    private func readings(_ value: JSONValue?, now: Int64) throws -> [Reading] {
        guard let value else { throw IngestRejection(.invalidMessage, "readings: required") }
        guard case .array(let items) = value else {
            throw IngestRejection(.invalidMessage, "readings: expected an array, got \(value.typeName)")
        }
        guard !items.isEmpty else { throw IngestRejection(.invalidMessage, "readings: at least one reading") }
        guard items.count <= limits.maxBatch else {
            throw IngestRejection(.batchTooLarge, "readings: \(items.count) readings, at most \(limits.maxBatch)")
        }
        return try items.enumerated().map { index, item in
            let path = "readings[\(index)]."
            guard case .object(let fields) = item else {
                throw IngestRejection(.invalidMessage, "readings[\(index)]: expected an object, got \(item.typeName)")
            }
            return try reading(fields, path: path, now: now)
        }
    }

    // MARK: - Readings

    private func reading(_ fields: [String: JSONValue], path: String, now: Int64) throws -> Reading {
        let ts = try timestamp(fields["ts"], path: path, now: now)
        return Reading(ts: ts, metrics: try metrics(fields["metrics"], path: path + "metrics"))
    }

    private func timestamp(_ value: JSONValue?, path: String, now: Int64) throws -> Int64 {
        guard let value, value != .null else { return now }
        guard let ts = Self.integer(value) else {
            throw IngestRejection(.invalidTimestamp, "\(path)ts: expected integer milliseconds since the Unix epoch")
        }
        guard ts >= IngestLimits.earliestTimestamp else {
            throw IngestRejection(.invalidTimestamp, "\(path)ts: \(ts) is before 2000-01-01")
        }
        guard ts <= now + limits.maxFutureSkewMs else {
            throw IngestRejection(.invalidTimestamp, "\(path)ts: \(ts) is more than ten minutes in the future")
        }
        return ts
    }

    private func metrics(_ value: JSONValue?, path: String) throws -> [MetricValue] {
        guard let value else { throw IngestRejection(.invalidMessage, "\(path): required") }
        guard case .object(let fields) = value else {
            throw IngestRejection(.invalidMessage, "\(path): expected an object, got \(value.typeName)")
        }
        guard !fields.isEmpty else { throw IngestRejection(.invalidMessage, "\(path): at least one metric") }
        guard fields.count <= limits.maxMetricsPerReading else {
            throw IngestRejection(
                .batchTooLarge, "\(path): \(fields.count) metrics, at most \(limits.maxMetricsPerReading)")
        }
        return try fields.sorted { $0.key < $1.key }.map { name, value in
            guard NameRules.isValidMetricName(name) else {
                throw IngestRejection(.invalidName, "\(path).\(name): invalid metric name")
            }
            guard let number = Self.number(value) else {
                throw IngestRejection(.invalidValue, "\(path).\(name): expected a finite number")
            }
            guard abs(number) <= IngestLimits.maxMagnitude else {
                throw IngestRejection(.invalidValue, "\(path).\(name): magnitude above 1e100")
            }
            return MetricValue(name: name, value: number)
        }
    }

    // MARK: - Scalars

    /// A `seq`: 1 to 2^53 − 1.
    private static func positiveInteger(_ value: JSONValue) -> Int64? {
        integer(value).flatMap { (1...IngestLimits.maxSeq).contains($0) ? $0 : nil }
    }

    private static func integer(_ value: JSONValue) -> Int64? {
        switch value {
        case .integer(let int): return int
        case .number(let double) where double.rounded() == double && abs(double) < 9.0e15: return Int64(double)
        default: return nil
        }
    }

    private static func number(_ value: JSONValue) -> Double? {
        switch value {
        case .integer(let int): Double(int)
        case .number(let double) where double.isFinite: double
        case .bool(let flag): flag ? 1 : 0
        default: nil
        }
    }
}
