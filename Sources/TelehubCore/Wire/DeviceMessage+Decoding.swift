/// Decoding a device message checks it as it goes, so that the first problem
/// found is reported with the path of its field (`readings[3].metrics.temp`)
/// and the contract's error code, as an `IngestRejection`. The bounds come
/// from `DeviceMessageRules` in the decoder's `userInfo`; `MessageValidator`
/// puts them there.
extension DeviceMessage: Decodable {
    public init(from decoder: any Decoder) throws {
        let rules = DeviceMessageRules(decoder)
        let container: KeyedDecodingContainer<WireKey>
        do {
            container = try decoder.container(keyedBy: WireKey.self)
        } catch {
            throw IngestRejection(.invalidMessage, "expected a JSON object")
        }
        do {
            self = try Self.decode(container, rules)
        } catch let rejection as IngestRejection {
            // The device matches errors to messages by seq: carry it whenever it can be read.
            var answered = rejection
            answered.seq = Self.readableSeq(container)
            throw answered
        }
    }

    private static func decode(_ container: KeyedDecodingContainer<WireKey>, _ rules: DeviceMessageRules) throws -> Self {
        guard container.contains(.type) else { throw IngestRejection(.invalidMessage, "type: required") }
        guard let type = try? container.decode(String.self, forKey: .type) else {
            throw IngestRejection(.invalidMessage, "type: expected a string")
        }
        switch type {
        case "ping":
            return .ping(id: try pingID(container))
        case "reading":
            let seq = try sequence(container, rules)
            let reading = try Reading(container, path: "", rules)
            return .ingest(IngestMessage(seq: seq, readings: [reading]))
        case "batch":
            let seq = try sequence(container, rules)
            return .ingest(IngestMessage(seq: seq, readings: try readings(container, rules)))
        case "command_ack":
            let seq = try optionalSequence(container)
            return .ingest(IngestMessage(seq: seq, readings: [], commands: [CommandAnswer(id: try commandID(container), kind: .ack)]))
        case "command_result":
            let seq = try optionalSequence(container)
            return .ingest(IngestMessage(seq: seq, readings: [], commands: [try commandResult(container)]))
        case "reported":
            let seq = try optionalSequence(container)
            return .ingest(IngestMessage(seq: seq, readings: [], report: try stateReport(container)))
        default:
            throw IngestRejection(.invalidMessage, "type: unknown message type \(JSONText.quoted(type))")
        }
    }

    private static func sequence(_ container: KeyedDecodingContainer<WireKey>, _ rules: DeviceMessageRules) throws -> Int64? {
        guard container.contains(.seq), !((try? container.decodeNil(forKey: .seq)) ?? false) else {
            if rules.requiresSeq { throw IngestRejection(.invalidMessage, "seq: required") }
            return nil
        }
        guard let seq = readableSeq(container) else {
            throw IngestRejection(.invalidMessage, "seq: expected an integer from 1 to \(IngestLimits.maxSeq)")
        }
        return seq
    }

    /// A command answer's `seq`: optional on every transport (contract v1.2).
    private static func optionalSequence(_ container: KeyedDecodingContainer<WireKey>) throws -> Int64? {
        guard container.contains(.seq), !((try? container.decodeNil(forKey: .seq)) ?? false) else { return nil }
        guard let seq = readableSeq(container) else {
            throw IngestRejection(.invalidMessage, "seq: expected an integer from 1 to \(IngestLimits.maxSeq)")
        }
        return seq
    }

    /// `{"type":"reported","state":{…},"applied":9}`: a merge patch, bounded as a state object.
    private static func stateReport(_ container: KeyedDecodingContainer<WireKey>) throws -> StateReport {
        guard let patch = try? container.decode(JSONValue.self, forKey: .state) else {
            throw IngestRejection(.invalidMessage, "state: required, a JSON object (a merge patch over the reported state)")
        }
        if let problem = DeviceState.problem(with: patch) { throw IngestRejection(.invalidMessage, problem) }
        var report = StateReport(patch: patch)
        if container.contains(.applied), !((try? container.decodeNil(forKey: .applied)) ?? false) {
            guard let applied = (try? container.decode(WireInteger.self, forKey: .applied))?.value, applied >= 0 else {
                throw IngestRejection(.invalidMessage, "applied: the desired version applied, an integer from 0")
            }
            report.applied = applied
        }
        return report
    }

    private static func commandID(_ container: KeyedDecodingContainer<WireKey>) throws -> String {
        guard let id = try? container.decode(String.self, forKey: .id), !id.isEmpty,
            id.utf8.count <= CommandAnswer.maxIDBytes
        else {
            throw IngestRejection(.invalidMessage, "id: the command's id, a string of at most \(CommandAnswer.maxIDBytes) bytes")
        }
        return id
    }

    private static func commandResult(_ container: KeyedDecodingContainer<WireKey>) throws -> CommandAnswer {
        let id = try commandID(container)
        let status = try? container.decode(String.self, forKey: .status)
        guard status == "succeeded" || status == "failed" else {
            throw IngestRejection(.invalidMessage, "status: \"succeeded\" or \"failed\"")
        }
        var answer = CommandAnswer(id: id, kind: .result(succeeded: status == "succeeded"))
        if container.contains(.result), !((try? container.decodeNil(forKey: .result)) ?? false) {
            guard let result = try? container.decode(JSONValue.self, forKey: .result), case .object = result,
                result.depth <= CommandRequest.maxDepth, result.text.utf8.count <= CommandAnswer.maxResultBytes
            else {
                throw IngestRejection(
                    .invalidMessage, "result: a JSON object of at most \(CommandAnswer.maxResultBytes) bytes, nested at most \(CommandRequest.maxDepth) deep")
            }
            answer.result = result
        }
        if container.contains(.message), !((try? container.decodeNil(forKey: .message)) ?? false) {
            guard let message = try? container.decode(String.self, forKey: .message), message.utf8.count <= CommandAnswer.maxMessageBytes else {
                throw IngestRejection(.invalidMessage, "message: a string of at most \(CommandAnswer.maxMessageBytes) bytes")
            }
            answer.message = message
        }
        return answer
    }

    /// `seq` when it is present and within bounds.
    private static func readableSeq(_ container: KeyedDecodingContainer<WireKey>) -> Int64? {
        (try? container.decode(WireInteger.self, forKey: .seq))?.value
            .flatMap { (1...IngestLimits.maxSeq).contains($0) ? $0 : nil }
    }

    /// A ping's `id` is echoed back, so it is bounded: a string of at most
    /// `maxPingIDBytes` bytes, or a number.
    private static func pingID(_ container: KeyedDecodingContainer<WireKey>) throws -> PingID? {
        guard container.contains(.id) else { return nil }
        guard let id = try? container.decode(PingID.self, forKey: .id) else {
            let kind = (try? container.decode(JSONKind.self, forKey: .id))?.name ?? "something else"
            throw IngestRejection(.invalidMessage, "id: expected a string or a number, got \(kind)")
        }
        if case .string(let text) = id, text.utf8.count > IngestLimits.maxPingIDBytes {
            throw IngestRejection(.invalidMessage, "id: at most \(IngestLimits.maxPingIDBytes) bytes")
        }
        return id
    }

    private static func readings(_ container: KeyedDecodingContainer<WireKey>, _ rules: DeviceMessageRules) throws -> [Reading] {
        guard container.contains(.readings) else { throw IngestRejection(.invalidMessage, "readings: required") }
        guard var items = try? container.nestedUnkeyedContainer(forKey: .readings), let count = items.count else {
            let kind = (try? container.decode(JSONKind.self, forKey: .readings))?.name ?? "something else"
            throw IngestRejection(.invalidMessage, "readings: expected an array, got \(kind)")
        }
        guard count > 0 else { throw IngestRejection(.invalidMessage, "readings: at least one reading") }
        guard count <= rules.limits.maxBatch else {
            throw IngestRejection(.batchTooLarge, "readings: \(count) readings, at most \(rules.limits.maxBatch)")
        }
        var readings: [Reading] = []
        readings.reserveCapacity(count)
        for index in 0..<count {
            guard let fields = try? items.nestedContainer(keyedBy: WireKey.self) else {
                let kind = (try? items.decode(JSONKind.self))?.name ?? "something else"
                throw IngestRejection(.invalidMessage, "readings[\(index)]: expected an object, got \(kind)")
            }
            readings.append(try Reading(fields, path: "readings[\(index)].", rules))
        }
        return readings
    }
}

extension Reading {
    /// A reading's `ts` and `metrics`, from the message object itself (`reading`)
    /// or from an item of `readings` (`batch`); `path` prefixes error paths.
    init(_ fields: KeyedDecodingContainer<WireKey>, path: String, _ rules: DeviceMessageRules) throws {
        self.init(ts: try Self.timestamp(fields, path: path, rules), metrics: try Self.metrics(fields, path: path + "metrics", rules))
    }

    private static func timestamp(_ fields: KeyedDecodingContainer<WireKey>, path: String, _ rules: DeviceMessageRules) throws -> Int64 {
        guard fields.contains(.ts), !((try? fields.decodeNil(forKey: .ts)) ?? false) else { return rules.now }
        guard let ts = (try? fields.decode(WireInteger.self, forKey: .ts))?.value else {
            throw IngestRejection(.invalidTimestamp, "\(path)ts: expected integer milliseconds since the Unix epoch")
        }
        guard ts >= IngestLimits.earliestTimestamp else {
            throw IngestRejection(.invalidTimestamp, "\(path)ts: \(ts) is before 2000-01-01")
        }
        guard ts <= rules.now + rules.limits.maxFutureSkewMs else {
            throw IngestRejection(.invalidTimestamp, "\(path)ts: \(ts) is more than ten minutes in the future")
        }
        return ts
    }

    private static func metrics(_ fields: KeyedDecodingContainer<WireKey>, path: String, _ rules: DeviceMessageRules) throws -> [MetricValue] {
        guard fields.contains(.metrics) else { throw IngestRejection(.invalidMessage, "\(path): required") }
        guard let object = try? fields.nestedContainer(keyedBy: WireKey.self, forKey: .metrics) else {
            let kind = (try? fields.decode(JSONKind.self, forKey: .metrics))?.name ?? "something else"
            throw IngestRejection(.invalidMessage, "\(path): expected an object, got \(kind)")
        }
        let names = object.allKeys
        guard !names.isEmpty else { throw IngestRejection(.invalidMessage, "\(path): at least one metric") }
        guard names.count <= rules.limits.maxMetricsPerReading else {
            throw IngestRejection(
                .batchTooLarge, "\(path): \(names.count) metrics, at most \(rules.limits.maxMetricsPerReading)")
        }
        return try names.sorted { $0.stringValue < $1.stringValue }.map { key in
            let name = key.stringValue
            guard NameRules.isValidMetricName(name) else {
                throw IngestRejection(.invalidName, "\(path).\(name): invalid metric name")
            }
            guard let number = (try? object.decode(MetricNumber.self, forKey: key))?.value else {
                throw IngestRejection(.invalidValue, "\(path).\(name): expected a finite number")
            }
            guard abs(number) <= IngestLimits.maxMagnitude else {
                throw IngestRejection(.invalidValue, "\(path).\(name): magnitude above 1e100")
            }
            return MetricValue(name: name, value: number)
        }
    }
}

/// The bounds a device message is decoded against.
public struct DeviceMessageRules: Sendable {
    public var limits: IngestLimits
    /// WebSocket messages must carry `seq`; HTTP ingest may leave it out.
    public var requiresSeq: Bool
    /// The receive time in epoch ms: it stamps readings without `ts` and
    /// bounds how far into the future a `ts` may lie.
    public var now: Int64

    public init(limits: IngestLimits, requiresSeq: Bool, now: Int64) {
        self.limits = limits
        self.requiresSeq = requiresSeq
        self.now = now
    }

    // A literal key: the initializer fails only for keys it never sees.
    public static let userInfoKey = CodingUserInfoKey(rawValue: "telehub.deviceMessageRules")!

    /// The rules in `decoder.userInfo`; without them, the default limits,
    /// `seq` optional and the current time.
    init(_ decoder: any Decoder) {
        self = decoder.userInfo[Self.userInfoKey] as? Self
            ?? Self(limits: IngestLimits(), requiresSeq: false, now: EpochClock.nowMs())
    }
}

/// Any key of a JSON object: message fields and metric names alike.
struct WireKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }

    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }

    static let type = WireKey(stringValue: "type")
    static let seq = WireKey(stringValue: "seq")
    static let id = WireKey(stringValue: "id")
    static let ts = WireKey(stringValue: "ts")
    static let metrics = WireKey(stringValue: "metrics")
    static let readings = WireKey(stringValue: "readings")
    static let status = WireKey(stringValue: "status")
    static let result = WireKey(stringValue: "result")
    static let message = WireKey(stringValue: "message")
    static let state = WireKey(stringValue: "state")
    static let applied = WireKey(stringValue: "applied")
}

/// An integer as JSON writers send it: `42`, or `42.0` or `4.2e1` from a
/// writer that knows only doubles, below 9e15 where doubles are exact.
struct WireInteger: Decodable {
    var value: Int64?

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let integer = try? container.decode(Int64.self) {
            value = integer
        } else {
            let double = try container.decode(Double.self)
            value = double.rounded() == double && abs(double) < 9.0e15 ? Int64(double) : nil
        }
    }
}

/// A metric value: any finite number, or a boolean as 1 or 0.
struct MetricNumber: Decodable {
    var value: Double?

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Double.self) {
            value = number.isFinite ? number : nil
        } else {
            value = try container.decode(Bool.self) ? 1 : 0
        }
    }
}

/// The kind of a JSON value, named for error messages; decoded only after
/// something failed to decode.
struct JSONKind: Decodable {
    var name: String

    init(from decoder: any Decoder) throws {
        if (try? decoder.unkeyedContainer()) != nil {
            name = "an array"
        } else if (try? decoder.container(keyedBy: WireKey.self)) != nil {
            name = "an object"
        } else {
            let value = try decoder.singleValueContainer()
            name = value.decodeNil() ? "null"
                : (try? value.decode(Bool.self)) != nil ? "a boolean"
                : (try? value.decode(String.self)) != nil ? "a string" : "a number"
        }
    }
}
