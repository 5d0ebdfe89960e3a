/// The fast path of `MessageValidator`: reads a well-formed `reading` or
/// `batch` message byte by byte straight into its validated form, with no
/// intermediate JSON tree and no throwing per value.
///
/// Hand-written because `telehub bench --ingest` showed `JSONDecoder` and the
/// `Codable` checks taking most of the hub's CPU per value (BENCHMARKS.md,
/// "The ingest hot path"). It answers only when it is sure: any message
/// outside the common shape (an escape in a string, an unknown or repeated
/// key, a number in an unusual form, a value out of bounds, a ping) makes it
/// return `nil`, and the `Codable` decoding runs instead, which gives every
/// rejection its path and code. So it can never reject what the contract
/// accepts, and the fuzz invariants check that whatever it accepts, the
/// `Codable` decoding accepts as the same message (`FuzzInvariants.checkMessage`).
public struct DeviceMessageScanner {
    private let bytes: UnsafeBufferPointer<UInt8>
    private let rules: DeviceMessageRules
    private var index = 0

    private init(_ bytes: UnsafeBufferPointer<UInt8>, _ rules: DeviceMessageRules) {
        self.bytes = bytes
        self.rules = rules
    }

    /// The message, or `nil` when the `Codable` decoding must decide.
    public static func scan(_ bytes: UnsafeBufferPointer<UInt8>, rules: DeviceMessageRules) -> DeviceMessage? {
        var scanner = Self(bytes, rules)
        return scanner.message()
    }

    /// The fields a message may carry, as bits, so a repeated key is noticed.
    private struct Seen: OptionSet {
        var rawValue: UInt8
        static let type = Seen(rawValue: 1)
        static let seq = Seen(rawValue: 2)
        static let ts = Seen(rawValue: 4)
        static let metrics = Seen(rawValue: 8)
        static let readings = Seen(rawValue: 16)
    }

    private enum Kind { case reading, batch }

    private mutating func message() -> DeviceMessage? {
        guard take(UInt8(ascii: "{")) else { return nil }
        var seen = Seen()
        var kind: Kind?
        var seq: Int64?
        var ts: Int64?
        var metrics: [MetricValue]?
        var readings: [Reading]?
        repeat {
            guard let key = keyField() else { return nil }
            let field: Seen
            switch key {
            case "type":
                field = .type
                guard let text = plainString() else { return nil }
                switch text {
                case "reading": kind = .reading
                case "batch": kind = .batch
                default: return nil
                }
            case "seq":
                field = .seq
                guard let value = plainInteger(), (1...IngestLimits.maxSeq).contains(value) else { return nil }
                seq = value
            case "ts":
                field = .ts
                guard let value = timestamp() else { return nil }
                ts = value
            case "metrics":
                field = .metrics
                guard let values = metricsObject() else { return nil }
                metrics = values
            case "readings":
                field = .readings
                guard let items = readingsArray() else { return nil }
                readings = items
            default:
                return nil
            }
            guard !seen.contains(field) else { return nil }
            seen.insert(field)
        } while take(UInt8(ascii: ","))
        guard take(UInt8(ascii: "}")), atEnd() else { return nil }
        guard seq != nil || !rules.requiresSeq else { return nil }

        switch kind {
        case .reading:
            guard let metrics, readings == nil else { return nil }
            return .ingest(IngestMessage(seq: seq, readings: [Reading(ts: ts ?? rules.now, metrics: metrics)]))
        case .batch:
            guard let readings, ts == nil, metrics == nil else { return nil }
            return .ingest(IngestMessage(seq: seq, readings: readings))
        case nil:
            return nil
        }
    }

    private mutating func readingsArray() -> [Reading]? {
        guard take(UInt8(ascii: "[")) else { return nil }
        var readings: [Reading] = []
        repeat {
            guard readings.count < rules.limits.maxBatch, let reading = readingObject() else { return nil }
            readings.append(reading)
        } while take(UInt8(ascii: ","))
        guard take(UInt8(ascii: "]")) else { return nil }
        return readings
    }

    private mutating func readingObject() -> Reading? {
        guard take(UInt8(ascii: "{")) else { return nil }
        var ts: Int64?
        var metrics: [MetricValue]?
        repeat {
            switch keyField() {
            case "ts":
                guard ts == nil, let value = timestamp() else { return nil }
                ts = value
            case "metrics":
                guard metrics == nil, let values = metricsObject() else { return nil }
                metrics = values
            default:
                return nil
            }
        } while take(UInt8(ascii: ","))
        guard take(UInt8(ascii: "}")), let metrics else { return nil }
        return Reading(ts: ts ?? rules.now, metrics: metrics)
    }

    /// Metric names and values, sorted by name as the `Codable` decoding sorts them.
    private mutating func metricsObject() -> [MetricValue]? {
        guard take(UInt8(ascii: "{")) else { return nil }
        var metrics: [MetricValue] = []
        var sorted = true
        repeat {
            guard metrics.count < rules.limits.maxMetricsPerReading,
                let name = plainString(), NameRules.isValidMetricName(name),
                take(UInt8(ascii: ":")), let value = metricValue()
            else { return nil }
            if let last = metrics.last, last.name >= name { sorted = false }
            metrics.append(MetricValue(name: name, value: value))
        } while take(UInt8(ascii: ","))
        guard take(UInt8(ascii: "}")) else { return nil }
        if !sorted {
            metrics.sort { $0.name < $1.name }
            // A repeated name: which value counts is the `Codable` decoding's call.
            for position in metrics.indices.dropFirst() where metrics[position - 1].name == metrics[position].name {
                return nil
            }
        }
        return metrics
    }

    private mutating func timestamp() -> Int64? {
        guard let ts = plainInteger(), ts >= IngestLimits.earliestTimestamp,
            ts <= rules.now + rules.limits.maxFutureSkewMs
        else { return nil }
        return ts
    }

    // MARK: - Tokens

    /// A key and its colon.
    private mutating func keyField() -> String? {
        guard let key = plainString(), take(UInt8(ascii: ":")) else { return nil }
        return key
    }

    /// A string of printable ASCII without escapes: every name and key the
    /// contract allows. Anything else goes to the `Codable` decoding.
    private mutating func plainString() -> String? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                index += 1
                return text
            }
            guard byte >= 0x20, byte < 0x7F, byte != UInt8(ascii: "\\") else { return nil }
            index += 1
        }
        return nil
    }

    /// Digits only, no sign, no leading zero, at most 18 of them: `seq` and `ts`.
    private mutating func plainInteger() -> Int64? {
        skipSpace()
        let start = index
        var value: Int64 = 0
        while index < bytes.count, let digit = Self.digit(bytes[index]) {
            value = value &* 10 &+ Int64(digit)
            index += 1
        }
        let length = index - start
        guard length > 0, length <= 18, !(length > 1 && bytes[start] == UInt8(ascii: "0")),
            !endsInNumberSyntax()
        else { return nil }
        return value
    }

    /// A finite number within the stored magnitude, or a boolean as 1 or 0.
    private mutating func metricValue() -> Double? {
        skipSpace()
        if matches("true") { return 1 }
        if matches("false") { return 0 }
        guard let number = number(), number.isFinite, abs(number) <= IngestLimits.maxMagnitude else { return nil }
        return number
    }

    /// A JSON number (RFC 8259 §6). Exact when its digits fit in 53 bits and its
    /// power of ten in 22, where one multiplication or division rounds
    /// correctly (Clinger's fast path); otherwise the text goes to the standard
    /// library's correctly rounded parser, as `JSONDecoder`'s does.
    private mutating func number() -> Double? {
        let start = index
        let negative = take(UInt8(ascii: "-"))
        let integerStart = index
        var mantissa: UInt64 = 0
        var digits = 0
        while index < bytes.count, let digit = Self.digit(bytes[index]) {
            if digits < 19 { mantissa = mantissa &* 10 &+ UInt64(digit) }
            digits += 1
            index += 1
        }
        let integerDigits = index - integerStart
        guard integerDigits > 0, !(integerDigits > 1 && bytes[integerStart] == UInt8(ascii: "0")) else { return nil }
        var exponent = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            let fractionStart = index
            while index < bytes.count, let digit = Self.digit(bytes[index]) {
                if digits < 19 { mantissa = mantissa &* 10 &+ UInt64(digit); exponent -= 1 }
                digits += 1
                index += 1
            }
            guard index > fractionStart else { return nil }
        }
        if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
            index += 1
            let negativeExponent = take(UInt8(ascii: "-"), skippingSpace: false)
            if !negativeExponent { _ = take(UInt8(ascii: "+"), skippingSpace: false) }
            let exponentStart = index
            var written = 0
            while index < bytes.count, let digit = Self.digit(bytes[index]) {
                if written < 10_000 { written = written * 10 + Int(digit) }
                index += 1
            }
            guard index > exponentStart else { return nil }
            exponent += negativeExponent ? -written : written
        }
        guard !endsInNumberSyntax() else { return nil }
        if digits <= 19, mantissa <= 1 << 53, (-22...22).contains(exponent) {
            let magnitude = exponent < 0
                ? Double(mantissa) / Self.powersOfTen[-exponent] : Double(mantissa) * Self.powersOfTen[exponent]
            return negative ? -magnitude : magnitude
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        guard let parsed = Double(text), parsed != 0 || mantissa == 0 else { return nil }
        return parsed
    }

    private static let powersOfTen: [Double] = (0...22).map { power in
        (0..<power).reduce(1.0) { value, _ in value * 10 }
    }

    /// A number followed straight by more number-like bytes (`1.2.3`, `01`,
    /// `1-`) is not one JSON number; let the `Codable` decoding name it.
    private func endsInNumberSyntax() -> Bool {
        guard index < bytes.count else { return false }
        let byte = bytes[index]
        return Self.digit(byte) != nil || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
            || byte == UInt8(ascii: "+") || byte | 0x20 == UInt8(ascii: "e")
    }

    private static func digit(_ byte: UInt8) -> UInt8? {
        let digit = byte &- UInt8(ascii: "0")
        return digit < 10 ? digit : nil
    }

    private mutating func matches(_ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        guard bytes.count - index >= count else { return false }
        for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { return false }
        index += count
        return true
    }

    /// Consumes `byte` after optional whitespace.
    private mutating func take(_ byte: UInt8, skippingSpace: Bool = true) -> Bool {
        if skippingSpace { skipSpace() }
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    private mutating func atEnd() -> Bool {
        skipSpace()
        return index == bytes.count
    }

    private mutating func skipSpace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }
}
