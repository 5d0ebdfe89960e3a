import Foundation
import TelehubAuth
public import TelehubCore

/// The properties every input must keep, checked by the libFuzzer targets in
/// Fuzz/ on each input they try and by `FuzzCorpusReplayTests` on every file
/// of Tests/FuzzCorpus. It is one file compiled into both places
/// (Fuzz/Sources/FuzzInvariants/FuzzInvariants.swift is a symlink to it), so
/// it uses TelehubCore and Foundation only.
///
/// A check that fails throws `Violation`; the fuzz targets turn it into a
/// trap so libFuzzer keeps the input, the replay test into a recorded issue.
/// Arithmetic overflow in the code under test traps by itself.
public enum FuzzInvariants {
    public struct Violation: Error, CustomStringConvertible {
        public var description: String

        public init(_ description: String) { self.description = description }
    }

    /// The receive time of every fuzzed message: fixed, so an input always
    /// gives the same answer (2025-06-15T15:06:40Z).
    public static let now: Int64 = 1_750_000_000_000

    /// Limits small enough that the fuzzer reaches their edges within a few bytes.
    public static let tightLimits = IngestLimits(
        maxBatch: 3, maxMetricsPerReading: 2, maxMessageBytes: 1 << 20, maxFutureSkewMs: 1000)

    static func require(_ condition: Bool, _ message: @autoclosure () -> String) throws(Violation) {
        if !condition { throw Violation(message()) }
    }

    // MARK: - Device messages

    /// Validates `bytes` as the WebSocket path (seq required) and the HTTP
    /// path (seq optional) do, with the default and with tight limits, and
    /// feeds it to a `DeviceConnectionState`.
    /// - Returns: the message as the HTTP path accepts it with default limits.
    @discardableResult
    public static func checkMessage(_ bytes: [UInt8]) throws(Violation) -> DeviceMessage? {
        var accepted: DeviceMessage?
        for limits in [IngestLimits(), tightLimits] {
            let strict = MessageValidator(limits: limits, requiresSeq: true).validate(bytes, now: now)
            let lax = MessageValidator(limits: limits, requiresSeq: false).validate(bytes, now: now)
            for (validator, fast) in [(MessageValidator(limits: limits, requiresSeq: true), strict),
                                      (MessageValidator(limits: limits, requiresSeq: false), lax)] {
                // The scanner's fast path may only ever agree with the `Codable` decoding.
                let decoded = validator.decode(bytes, now: now)
                try require(fast == decoded, "the scanner answered \(fast), the Codable decoding \(decoded)")
            }
            try checkResult(strict, limits: limits, requiresSeq: true)
            try checkResult(lax, limits: limits, requiresSeq: false)
            switch (strict, lax) {
            case (.success(let a), .success(let b)):
                try require(a == b, "seq required and optional accepted different messages: \(a) vs \(b)")
            case (.success(let message), .failure(let rejection)):
                throw Violation("accepted with seq required (\(message)) but refused with seq optional: \(rejection)")
            case (.failure(let rejection), .success(let message)):
                // Only a missing seq may tell them apart.
                guard case .ingest(let ingest) = message, ingest.seq == nil, rejection.message == "seq: required"
                else { throw Violation("refused with seq required (\(rejection)) but accepted \(message) without") }
            case (.failure(let a), .failure(let b)):
                if a.message != "seq: required" {
                    try require(a == b, "seq required and optional refused differently: \(a) vs \(b)")
                }
            }
            if limits == IngestLimits(), case .success(let message) = lax { accepted = message }
        }
        if nestingDepth(bytes) > JSONDepth.maxDeviceMessageDepth {
            // Refused before decoding, whose cost grows with the depth.
            let rejection = MessageValidator(limits: IngestLimits(), requiresSeq: false).validate(bytes, now: now)
            guard case .failure(let error) = rejection, error.code == .invalidJSON else {
                throw Violation("a message nested \(nestingDepth(bytes)) deep was answered \(rejection)")
            }
        }
        if accepted != nil {
            // JSON text is UTF-8 (RFC 8259 §8.1): anything else is refused as invalid_json.
            try require(String(validating: bytes, as: UTF8.self) != nil, "accepted a message that is not UTF-8")
        }
        try checkConnection(String(decoding: bytes, as: UTF8.self))
        return accepted
    }

    /// The deepest nesting of arrays and objects in JSON text, strings left
    /// out: an oracle for `JSONDepth`, written apart from it.
    public static func nestingDepth(_ bytes: [UInt8]) -> Int {
        var depth = 0
        var deepest = 0
        var inString = false
        var escaped = false
        for byte in bytes {
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                deepest = max(deepest, depth)
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
            default: break
            }
        }
        return deepest
    }

    static func checkResult(_ result: Result<DeviceMessage, IngestRejection>, limits: IngestLimits, requiresSeq: Bool)
        throws(Violation)
    {
        switch result {
        case .success(.ping(let id)):
            switch id {
            case nil, .null?, .integer?: break
            case .number(let value)?: try require(value.isFinite, "ping id \(value) is not finite")
            case .string(let text)?:
                try require(text.utf8.count <= IngestLimits.maxPingIDBytes, "ping id of \(text.utf8.count) bytes")
            }
        case .success(.ingest(let message)):
            if requiresSeq { try require(message.seq != nil, "accepted without seq although it is required") }
            if let seq = message.seq {
                try require((1...IngestLimits.maxSeq).contains(seq), "accepted seq \(seq)")
            }
            try require(
                (1...limits.maxBatch).contains(message.readings.count), "accepted \(message.readings.count) readings")
            var values = 0
            for reading in message.readings {
                try require(
                    reading.ts >= IngestLimits.earliestTimestamp && reading.ts <= now + limits.maxFutureSkewMs,
                    "accepted ts \(reading.ts)")
                try require(
                    (1...limits.maxMetricsPerReading).contains(reading.metrics.count),
                    "accepted \(reading.metrics.count) metrics in one reading")
                let names = reading.metrics.map(\.name)
                try require(names == names.sorted() && Set(names).count == names.count, "metrics not unique and sorted: \(names)")
                for metric in reading.metrics {
                    try require(NameRules.isValidMetricName(metric.name), "accepted metric name \(metric.name.debugDescription)")
                    try require(
                        metric.value.isFinite && abs(metric.value) <= IngestLimits.maxMagnitude,
                        "accepted value \(metric.value) for \(metric.name)")
                }
                values += reading.metrics.count
            }
            try require(message.valueCount == values, "valueCount \(message.valueCount), counted \(values)")
        case .failure(let rejection):
            try require(!rejection.code.isRetryable, "a validation rejection is retryable: \(rejection)")
            try require(rejection.retryAfterMs == nil, "a validation rejection has retryAfterMs: \(rejection)")
            try require(rejection.code != .tooManySeries, "the validator cannot know the series: \(rejection)")
            try require(!rejection.message.isEmpty, "a rejection without a message: \(rejection)")
            if let seq = rejection.seq {
                try require((1...IngestLimits.maxSeq).contains(seq), "rejection carries seq \(seq)")
            }
        }
    }

    /// The connection answers as the validator does, and closes only once over budget.
    static func checkConnection(_ text: String) throws(Violation) {
        let direct = MessageValidator(limits: IngestLimits(), requiresSeq: true).validate(text, now: now)
        var connection = DeviceConnectionState(device: "fuzz", limits: IngestLimits())
        let actions = connection.receive(text, now: now)
        var closing = DeviceConnectionState(
            device: "fuzz", limits: IngestLimits(), errorLimit: ErrorWindow(maxErrors: 0, windowMs: 10_000))
        let closingActions = closing.receive(text, now: now)
        switch direct {
        case .success(.ping(let id)):
            try require(actions == [.reply(.pong(id: id))], "ping answered with \(actions)")
            try require(closingActions == actions, "a ping counted as an error: \(closingActions)")
        case .success(.ingest(let message)):
            try require(actions == [.submit(message)], "message answered with \(actions)")
            try require(closingActions == actions, "a valid message counted as an error: \(closingActions)")
        case .failure(let rejection):
            try require(actions == [.reply(.error(ErrorBody(rejection)))], "rejection answered with \(actions)")
            try require(
                closingActions == [.reply(.error(ErrorBody(rejection))), .closeForErrors],
                "no close past the error budget: \(closingActions)")
        }
        for case .reply(let reply) in actions { try checkReply(reply) }
    }

    /// Every reply is a JSON object of its type; a pong echoes the id.
    static func checkReply(_ reply: ServerMessage) throws(Violation) {
        let json = reply.json
        let object = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any]
        guard let object else { throw Violation("reply \(reply) is not a JSON object: \(json)") }
        switch reply {
        case .pong(let id):
            try require(object["type"] as? String == "pong", "pong written as \(json)")
            // Read back by JSONSerialization, apart from the hub's own Codable types.
            let echoed = object["id"]
            try require(sameJSON(echoed, id), "pong echoes \(String(describing: echoed)) for \(String(describing: id))")
        case .error(let rejection):
            try require(object["type"] as? String == "error", "error written as \(json)")
            try require(object["code"] as? String == rejection.code, "error code written as \(json)")
            try require(object["retryable"] as? Bool == false, "error retryable written as \(json)")
            try require(object["message"] as? String == rejection.message, "error message written as \(json)")
        case .hello, .ack, .command, .desired:
            break
        }
    }

    /// Equal as a reader of the JSON sees them: numbers by value, an absent id as null.
    static func sameJSON(_ read: Any?, _ sent: PingID?) -> Bool {
        switch sent {
        case nil, .null?: read == nil || read is NSNull
        case .string(let text)?: read as? String == text
        case .integer(let integer)?: (read as? NSNumber).map { $0.int64Value == integer || $0.doubleValue == Double(integer) } ?? false
        case .number(let number)?: (read as? NSNumber)?.doubleValue == number
        }
    }

    // MARK: - Read queries

    /// The parameters of a query string as Hummingbird reads them: split at
    /// `&`, the key up to the first `=`, the value percent-decoded when it
    /// can be, the first of repeated keys.
    public static func queryParameters(_ query: Substring) -> [Substring: Substring] {
        var result: [Substring: Substring] = [:]
        for item in query.split(separator: "&") {
            let key: Substring
            var value: Substring = ""
            if let equals = item.firstIndex(of: "=") {
                key = item[..<equals]
                let raw = item[item.index(after: equals)...]
                value = raw.removingPercentEncoding.map { Substring($0) } ?? raw
            } else {
                key = item
            }
            if result[key] == nil { result[key] = value }
        }
        return result
    }

    /// A query string (what follows `?`) through both read queries. A
    /// parameter `now` that the server does not read sets the clock.
    public static func checkQueryString(_ text: String) throws(Violation) {
        let parameters = queryParameters(text[...])
        try checkQuery { parameters[Substring($0)] }
    }

    public static func checkQuery(_ parameter: (String) -> Substring?) throws(Violation) {
        let now = parameter("now").flatMap { Int64($0) } ?? Self.now
        try checkHistoryQuery(parameter, now: now)
        try checkExportQuery(parameter)
    }

    static func nonEmpty(_ value: Substring?) -> Substring? {
        value.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// 1 to 15 ASCII digits: an integer every reader agrees on, below 2^53.
    static func plainInteger(_ value: Substring?) -> Int64? {
        guard let value, (1...15).contains(value.utf8.count), value.utf8.allSatisfy({ (48...57).contains($0) })
        else { return nil }
        return Int64(value)
    }

    static func checkHistoryQuery(_ parameter: (String) -> Substring?, now: Int64) throws(Violation) {
        let result = Result { () throws(QueryError) in try HistoryQuery(parameter: parameter, now: now) }
        let defaultTo = min(max(now, 0), IngestLimits.maxTime)
        switch result {
        case .success(let query):
            try require(
                0 <= query.from && query.from <= query.to && query.to <= IngestLimits.maxTime,
                "accepted from \(query.from) to \(query.to)")
            try require((1...HistoryQuery.maxPoints).contains(query.points), "accepted points \(query.points)")
            if let to = nonEmpty(parameter("to")) {
                try require(Int64(to) == query.to, "to=\(to) read as \(query.to)")
            } else {
                try require(query.to == defaultTo, "to defaults to \(query.to), now \(now)")
            }
            if let from = nonEmpty(parameter("from")) {
                try require(Int64(from) == query.from, "from=\(from) read as \(query.from)")
            } else {
                try require(query.from == max(0, query.to - HistoryQuery.defaultSpanMs), "from defaults to \(query.from)")
            }
            if let points = nonEmpty(parameter("points")) {
                try require(
                    Int64(points).map { Int(min($0, Int64(HistoryQuery.maxPoints))) } == query.points,
                    "points=\(points) read as \(query.points)")
            } else {
                try require(query.points == HistoryQuery.defaultPoints, "points defaults to \(query.points)")
            }
            try checkPlan(from: query.from, to: query.to, points: query.points)
        case .failure(let error):
            // Plain in-range values in order must be accepted.
            let names = ["to", "from", "points"]
            let values = names.map { nonEmpty(parameter($0)) }
            let plain = zip(values, values.map(plainInteger)).allSatisfy { $0 == nil || $1 != nil }
            guard plain else { return }
            let to = plainInteger(values[0]) ?? defaultTo
            let from = plainInteger(values[1]) ?? max(0, to - HistoryQuery.defaultSpanMs)
            let points = plainInteger(values[2]) ?? 1
            try require(from > to || points < 1, "refused a valid history query (\(values)): \(error)")
        }
    }

    static func checkExportQuery(_ parameter: (String) -> Substring?) throws(Violation) {
        let result = Result { () throws(QueryError) in try ExportQuery(parameter: parameter) }
        switch result {
        case .success(let query):
            for (name, set, isValid) in [
                ("device", query.devices, NameRules.isValidDeviceName), ("metric", query.metrics, NameRules.isValidMetricName),
            ] as [(String, Set<String>?, (String) -> Bool)] {
                if let value = nonEmpty(parameter(name)) {
                    let expected = Set(value.split(separator: ",").map(String.init))
                    try require(set == (expected.isEmpty ? nil : expected), "\(name)=\(value) read as \(String(describing: set))")
                } else {
                    try require(set == nil, "no \(name) read as \(String(describing: set))")
                }
                if let set {
                    try require(!set.isEmpty && set.count <= QueryValue.maxNames, "\(set.count) \(name) names accepted")
                    try require(set.allSatisfy(isValid), "invalid \(name) name accepted in \(set)")
                }
            }
            for (name, value) in [("from", query.from), ("to", query.to)] {
                if let value { try require((0...IngestLimits.maxTime).contains(value), "accepted \(name) \(value)") }
                try require(value == nonEmpty(parameter(name)).flatMap { Int64($0) }, "\(name) read as \(String(describing: value))")
            }
            if let from = query.from, let to = query.to { try require(from <= to, "accepted from \(from) after to \(to)") }
            switch nonEmpty(parameter("format")) {
            case nil: try require(query.format == .csv, "the default format is \(query.format)")
            case let format?: try require(query.format.rawValue == format, "format=\(format) read as \(query.format)")
            }
        case .failure(let error):
            let format = parameter("format")
            let trivial =
                ["device", "metric", "from", "to"].allSatisfy { nonEmpty(parameter($0)) == nil }
                && (format == nil || format == "" || format == "csv" || format == "ndjson")
            try require(!trivial, "refused an export query without filters: \(error)")
        }
    }

    /// The plan of a history answer and the segments each resolution reads.
    public static func checkPlan(from: Int64, to: Int64, points: Int) throws(Violation) {
        let plan = BucketPlan(from: from, to: to, points: points)
        // Described only when a check fails: describing the plan costs more than the checks.
        let context = { "plan \(plan) for [\(from), \(to)] in \(points) points" }
        let step = plan.step
        try require(step >= 1, context())
        try require(plan.origin % step == 0 && plan.origin <= from && from - plan.origin < step, "origin: \(context())")
        try require(plan.bucket(of: from) == 0, "from is not in bucket 0: \(context())")
        let last = plan.bucket(of: to)
        try require(last >= 0 && last < Int64(points), "\(last + 1) buckets: \(context())")
        let lastStart = plan.start(ofBucket: last)
        try require(lastStart <= to && to - lastStart < step, "to is not in the last bucket: \(context())")
        try require(step % plan.resolution.milliseconds == 0, "the resolution does not tile the buckets: \(context())")
        try require(Resolution.coarsest(dividing: step) == plan.resolution, "not the coarsest resolution: \(context())")
        for unit: Int64 in [3_600_000, 60_000, 1000] where step >= unit {
            try require(step % unit == 0, "step is not whole \(unit) ms: \(context())")
            break
        }
        // The finest nice step that fits: the next smaller one needs too many
        // buckets. BucketPlan widens one unit at a time only for a few tries
        // before it jumps to a width that surely fits, so this holds where
        // the step lies a few units above where the search starts.
        func unit(_ step: Int64) -> Int64 {
            step >= 3_600_000 ? 3_600_000 : step >= 60_000 ? 60_000 : step >= 1000 ? 1000 : 1
        }
        let initial = max(1, -floorDiv(-(to - from + 1), Int64(points)))
        let smaller = step <= 1000 ? step - 1 : step <= 60_000 ? step - 1000 : step <= 3_600_000 ? step - 60_000 : step - 3_600_000
        if smaller >= 1, step - initial <= 32 * unit(initial) {
            let count = floorDiv(to, smaller) - floorDiv(from, smaller) + 1
            try require(count > Int64(points), "step \(smaller) also fits (\(count) buckets): \(context())")
        }
        for coarsest in Resolution.allCases {
            try checkCover(from: from, to: to, upTo: coarsest)
        }
    }

    /// Segments cover `[from, to]` exactly, in order, without overlap, each
    /// aligned to its resolution, with the coarsest resolution wherever it fits.
    public static func checkCover(from: Int64, to: Int64, upTo coarsest: Resolution) throws(Violation) {
        let segments = TimeSegment.cover(from: from, to: to, upTo: coarsest)
        let context = { "cover [\(from), \(to)] up to \(coarsest): \(segments)" }
        guard let first = segments.first, let last = segments.last else { throw Violation("no segments: \(context())") }
        try require(first.from == from && last.to == to, "bounds: \(context())")
        try require(segments.count <= 2 * Resolution.allCases.count - 1, "too many segments: \(context())")
        for (index, segment) in segments.enumerated() {
            try require(segment.from <= segment.to, "empty segment: \(context())")
            try require(segment.resolution <= coarsest, "too coarse: \(context())")
            if index > 0 { try require(segment.from == segments[index - 1].to + 1, "gap or overlap: \(context())") }
            let width = segment.resolution.milliseconds
            try require(segment.from % width == 0 && (segment.to + 1) % width == 0, "not aligned: \(context())")
        }
        let width = coarsest.milliseconds
        let start = -floorDiv(-from, width) * width
        let end = floorDiv(to + 1, width) * width
        if start < end {
            try require(
                segments.contains(TimeSegment(coarsest, from: start, to: end - 1)), "the coarsest part is missing: \(context())")
        }
    }

    // MARK: - Header values and parsers of single values

    /// One text through everything that reads a short value: `Last-Event-ID`,
    /// token kinds, session cookies, spans, byte sizes, JSON quoting.
    public static func checkHeaderValue(_ text: String) throws(Violation) {
        try checkStreamPosition(text)
        let kind = TokenKind(token: text)
        try require(
            (kind != nil) == (text.hasPrefix("thd_") || text.hasPrefix("thr_") || text.hasPrefix("thc_")), "TokenKind(\(text.debugDescription)) = \(String(describing: kind))")
        if let kind { try require(text.hasPrefix(kind.prefix), "kind \(kind) for \(text.debugDescription)") }
        try checkSessionCookie(text)
        for value in cookieValues(text, named: "telehub_session") { try checkSessionCookie(value) }
        try checkSpan(text)
        try checkByteSize(text)
        try checkQuoting(text)
    }

    static func checkStreamPosition(_ text: String) throws(Violation) {
        let position = StreamPosition.parse(text)
        try require(StreamPosition.parse(text[...]) == position, "String and Substring parse differently: \(text.debugDescription)")
        if let position {
            try require(position >= 0 && text.utf8.count <= 64, "position \(position) from \(text.debugDescription)")
            var trimmed = text[...]
            while let c = trimmed.first, c == " " || c == "\t" { trimmed.removeFirst() }
            while let c = trimmed.last, c == " " || c == "\t" { trimmed.removeLast() }
            try require(Int64(trimmed) == position, "position \(position) from \(text.debugDescription)")
        }
        if (1...18).contains(text.utf8.count), text.utf8.allSatisfy({ (48...57).contains($0) }) {
            try require(position == Int64(text), "Last-Event-ID \(text) read as \(String(describing: position))")
        }
    }

    /// The values of the cookies named `name` in a `Cookie` header.
    public static func cookieValues(_ header: String, named name: String) -> [String] {
        header.split(separator: ";").compactMap { item in
            let pair = item.drop { $0 == " " }
            guard let equals = pair.firstIndex(of: "="), pair[..<equals] == name else { return nil }
            return String(pair[pair.index(after: equals)...])
        }
    }

    /// A presented session cookie is hashed only when it can be a session id.
    public static func checkSessionCookie(_ value: String) throws(Violation) {
        let hash = SessionSecret.hash(value)
        let possible = value.hasPrefix(SessionSecret.prefix) && value.utf8.count <= 64
        try require((hash != nil) == possible, "session hash of \(value.debugDescription): \(String(describing: hash))")
        if let hash {
            try require(hash.count == 32 && hash == TokenSecret.hash(value), "session hash is not SHA-256 of the value")
        }
    }

    static let spanFactors: [Character: Int64] = ["s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000]

    static func checkSpan(_ text: String) throws(Violation) {
        let span = SpanParser.milliseconds(text)
        if let span {
            try require(span > 0, "span \(span) from \(text.debugDescription)")
            // `ms`, or one of the single-letter units.
            let (digits, factor): (Substring, Int64?) =
                text.hasSuffix("ms") ? (text.dropLast(2), 1) : (text.dropLast(), text.last.flatMap { spanFactors[$0] })
            guard let factor, let count = Int64(digits) else {
                throw Violation("span \(span) from \(text.debugDescription)")
            }
            let (product, overflow) = count.multipliedReportingOverflow(by: factor)
            try require(!overflow && product == span, "span \(span) from \(text.debugDescription)")
        }
        let digits = text.dropLast()
        if let unit = text.last, spanFactors[unit] != nil, (1...10).contains(digits.utf8.count),
            digits.utf8.allSatisfy({ (48...57).contains($0) }), digits.first != "0"
        {
            try require(span != nil, "refused the span \(text.debugDescription)")
        }
    }

    static func checkByteSize(_ text: String) throws(Violation) {
        let bytes = ByteSizeParser.bytes(text)
        if let bytes { try require(bytes > 0, "size \(bytes) from \(text.debugDescription)") }
        let upper = text.uppercased()
        let suffixes: [(String, Int64)] = [
            ("TIB", 1 << 40), ("GIB", 1 << 30), ("MIB", 1 << 20), ("KIB", 1 << 10), ("TB", 1 << 40), ("GB", 1 << 30),
            ("MB", 1 << 20), ("KB", 1 << 10), ("B", 1), ("", 1),
        ]
        for (suffix, factor) in suffixes where text.utf8.count == upper.utf8.count && upper.hasSuffix(suffix) {
            let digits = upper.dropLast(suffix.count)
            guard (1...6).contains(digits.utf8.count), digits.utf8.allSatisfy({ (48...57).contains($0) }),
                let count = Int64(digits), count > 0
            else { continue }
            try require(bytes == count * factor, "size \(text.debugDescription) read as \(String(describing: bytes))")
            break
        }
    }

    /// `JSONText.quoted` reads back as the same string.
    static func checkQuoting(_ text: String) throws(Violation) {
        let quoted = JSONText.quoted(text)
        let decoded = try? JSONDecoder().decode([String].self, from: Data("[\(quoted)]".utf8))
        try require(decoded == [text], "JSONText.quoted(\(text.debugDescription)) = \(quoted) reads back as \(String(describing: decoded))")
    }
}

// MARK: - The doors: line protocol and PromQL

extension FuzzInvariants {
    static let precisions: [LineProtocol.Precision] = [.nanoseconds, .microseconds, .milliseconds, .seconds, .minutes, .hours]

    /// A body as `/write` parses it: the first byte picks the precision, the
    /// rest is the body. Parsed without and with the hub's bounds (default
    /// and tight): every name follows the metric-name rule, every value is
    /// finite, the bounds hold where given, a refusal names a line of the
    /// body, and what passes the bounds passes without them, unchanged.
    public static func checkLineProtocol(_ input: [UInt8]) throws(Violation) {
        guard let first = input.first else { return }
        let precision = precisions[Int(first) % precisions.count]
        let body = Array(input.dropFirst())
        let lines = body.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).count
        let free = lineProtocolResult(body, precision, limits: nil)
        for limits in [IngestLimits(), tightLimits] {
            switch lineProtocolResult(body, precision, limits: limits) {
            case .success(let readings):
                try require(readings.count <= limits.maxBatch, "\(readings.count) readings past maxBatch")
                for reading in readings {
                    try require(reading.ts >= IngestLimits.earliestTimestamp && reading.ts <= now + limits.maxFutureSkewMs, "ts \(reading.ts) out of bounds")
                    try require(reading.metrics.count <= limits.maxMetricsPerReading, "\(reading.metrics.count) metrics past the bound")
                    try require(reading.metrics.allSatisfy { abs($0.value) <= IngestLimits.maxMagnitude }, "a magnitude past 1e100")
                }
                try require((try? free.get()) == readings, "the bounds changed what was parsed")
            case .failure(let error):
                try require((1...max(1, lines)).contains(error.line), "\(error) of a \(lines)-line body")
            }
        }
        switch free {
        case .success(let readings):
            for reading in readings {
                try require(!reading.metrics.isEmpty, "a reading without metrics")
                for metric in reading.metrics {
                    try require(NameRules.isValidMetricName(metric.name), "invalid name \(metric.name.debugDescription)")
                    try require(metric.value.isFinite, "value \(metric.value)")
                }
                try require(Set(reading.metrics.map(\.name)).count == reading.metrics.count, "a name twice in one reading")
            }
        case .failure(let error):
            try require((1...max(1, lines)).contains(error.line) && !error.isTooLarge, "\(error) of a \(lines)-line body")
        }
    }

    static func lineProtocolResult(_ body: [UInt8], _ precision: LineProtocol.Precision, limits: IngestLimits?)
        -> Result<[Reading], LineProtocol.ParseError>
    {
        Result { () throws(LineProtocol.ParseError) in try LineProtocol.parse(body, precision: precision, now: now, limits: limits) }
    }

    /// Series every fuzzed query is evaluated over: two devices, one with a
    /// counter reset, values at irregular times.
    static let promData: [PromSeriesData] = [
        PromSeriesData(device: "a", metric: "t.x", samples: [PromSample(ts: 0, value: 1), PromSample(ts: 15_000, value: 5), PromSample(ts: 20_000, value: 2)]),
        PromSeriesData(device: "b-1", metric: "t.x", samples: [PromSample(ts: 10_000, value: -3.5), PromSample(ts: 400_000, value: 1e100)]),
    ]

    /// A query as the Prometheus door takes it: it parses, or the refusal
    /// says where; what parses evaluates at several steps without trapping,
    /// to one value a step and series with labels the door gives.
    public static func checkPromQuery(_ text: String) throws(Violation) {
        let expression: PromExpression
        do {
            expression = try PromParser.parse(text)
        } catch {
            try require(error.message.contains(": parse error: ") || error.message.contains("longer than"), "refusal without a place: \(error.message)")
            return
        }
        var data: [PromSelector: [PromSeriesData]] = [:]
        for read in expression.reads {
            try require(read.windowMs > 0, "a window of \(read.windowMs) ms")
            data[read.selector] = promData
        }
        let steps: [Int64] = [0, 10_000, 20_000, 300_000, 400_000]
        switch PromEvaluator(steps: steps, data: data).evaluate(expression) {
        case .scalar(let values):
            try require(values.count == steps.count, "\(values.count) values for \(steps.count) steps")
        case .vector(let series):
            for result in series {
                try require(result.values.count == steps.count, "\(result.values.count) values for \(steps.count) steps")
                try require(result.labels.keys.allSatisfy { $0 == "__name__" || $0 == "device" }, "labels \(result.labels)")
            }
        }
    }
}
