/// InfluxDB line protocol, as Telegraf, Home Assistant and the InfluxDB
/// client libraries write it (contract v1.2, "The InfluxDB door"):
///
///     measurement[,tag=value…] field=value[,field=value…] [timestamp]
///
/// Each field becomes a metric named `measurement.tagvalue….field` (tag
/// values in tag-key order; characters outside the metric-name rule become
/// `_`). Float, integer (`12i`), unsigned (`12u`) and boolean fields are
/// kept; string fields are skipped. A line without a timestamp takes `now`.
///
/// The parser walks the body's bytes once, line by line, and builds nothing
/// but the readings it returns: it runs for every line Telegraf sends.
public enum LineProtocol {
    /// The `precision` parameter of `/write` (1.x: n, u, ms, s, m, h; 2.x: ns, us, ms, s).
    public enum Precision: Sendable, Equatable {
        case nanoseconds, microseconds, milliseconds, seconds, minutes, hours

        public init?(_ text: String) {
            switch text {
            case "n", "ns": self = .nanoseconds
            case "u", "us": self = .microseconds
            case "ms": self = .milliseconds
            case "s": self = .seconds
            case "m": self = .minutes
            case "h": self = .hours
            default: return nil
            }
        }

        /// A timestamp in this precision as epoch milliseconds; nil when it does not fit.
        func milliseconds(_ value: Int64) -> Int64? {
            switch self {
            case .nanoseconds: floorDivide(value, 1_000_000)
            case .microseconds: floorDivide(value, 1000)
            case .milliseconds: value
            case .seconds: multiplied(value, 1000)
            case .minutes: multiplied(value, 60_000)
            case .hours: multiplied(value, 3_600_000)
            }
        }

        private func floorDivide(_ value: Int64, _ by: Int64) -> Int64 {
            value >= 0 ? value / by : -((-(value + 1)) / by) - 1
        }

        private func multiplied(_ value: Int64, _ by: Int64) -> Int64? {
            let (product, overflow) = value.multipliedReportingOverflow(by: by)
            return overflow ? nil : product
        }
    }

    /// What is wrong, and on which line (from 1).
    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public var line: Int
        public var message: String

        public var description: String { "line \(line): \(message)" }
    }

    /// Every line's readings, in order; a line whose fields are all strings gives none.
    /// - Throws: the first bad line; then nothing of the body may be stored.
    public static func parse(_ body: some Collection<UInt8>, precision: Precision = .nanoseconds, now: Int64) throws(ParseError)
        -> [Reading]
    {
        let bytes = Array(body)
        var readings: [Reading] = []
        var start = 0
        var number = 0
        while start < bytes.count {
            number += 1
            var end = start
            while end < bytes.count, bytes[end] != newline { end += 1 }
            var lineEnd = end
            if lineEnd > start, bytes[lineEnd - 1] == carriageReturn { lineEnd -= 1 }
            do {
                if let reading = try parseLine(bytes, start, lineEnd, precision: precision, now: now) { readings.append(reading) }
            } catch {
                throw ParseError(line: number, message: error.message)
            }
            start = end + 1
        }
        return readings
    }

    struct LineError: Error {
        var message: String
        init(_ message: String) { self.message = message }
    }

    // MARK: - One line

    private static func parseLine(_ bytes: [UInt8], _ start: Int, _ end: Int, precision: Precision, now: Int64) throws(LineError)
        -> Reading?
    {
        var cursor = Cursor(bytes: bytes, position: start, end: end)
        cursor.skipSpaces()
        if cursor.atEnd || cursor.peek == hash { return nil }  // blank, or a comment
        let measurement = try cursor.token(stops: [comma], escapes: [comma, space, backslash], what: "measurement")
        var tags: [(key: String, value: String)] = []
        while cursor.peek == comma {
            cursor.advance()
            let key = try cursor.token(stops: [equals, comma], what: "tag key")
            guard cursor.peek == equals else { throw LineError("tag \(JSONText.quoted(key)) has no value") }
            cursor.advance()
            tags.append((key, try cursor.token(stops: [comma], what: "value of tag \(JSONText.quoted(key))")))
        }
        guard cursor.peek == space else { throw LineError("expected a space and fields after \(JSONText.quoted(measurement))") }
        cursor.skipSpaces()
        let prefix = ([measurement] + tags.sorted { $0.key < $1.key }.map(\.value)).joined(separator: ".")
        var metrics: [MetricValue] = []
        repeat {
            if cursor.peek == comma { cursor.advance() }
            let key = try cursor.token(stops: [equals, comma], what: "field key")
            guard cursor.peek == equals else { throw LineError("field \(JSONText.quoted(key)) has no value") }
            cursor.advance()
            if let value = try cursor.fieldValue(key) {
                let name = try metricName(prefix + "." + key)
                metrics.removeAll { $0.name == name }  // a repeated field: the last one counts
                metrics.append(MetricValue(name: name, value: value))
            }
        } while cursor.peek == comma
        let ts = try cursor.timestamp(precision: precision) ?? now
        guard !metrics.isEmpty else { return nil }
        return Reading(ts: ts, metrics: metrics)
    }

    /// `name` with every character outside the metric-name rule as `_`.
    static func metricName(_ name: String) throws(LineError) -> String {
        var bytes = Array(name.utf8)
        guard bytes.count <= 64 else {
            throw LineError("metric name \(JSONText.quoted(String(name.prefix(80)))) is longer than 64 characters")
        }
        for index in bytes.indices {
            let byte = bytes[index]
            let letter = (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z")
            let digit = byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
            let allowed = index == 0 ? letter || byte == underscore : letter || digit || byte == underscore || byte == dot || byte == dash
            if !allowed { bytes[index] = underscore }
        }
        // A multi-byte character became several `_`; that is still one name per input.
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Reads a line's bytes, with its escapes.
    struct Cursor {
        let bytes: [UInt8]
        var position: Int
        let end: Int

        var atEnd: Bool { position >= end }
        var peek: UInt8? { position < end ? bytes[position] : nil }
        mutating func advance() { position += 1 }

        mutating func skipSpaces() {
            while position < end, bytes[position] == space { position += 1 }
        }

        /// Up to an unescaped stop byte or space: `\` before one of `escapes`
        /// stands for it; before anything else it is itself.
        mutating func token(
            stops: [UInt8], escapes: [UInt8] = [comma, equals, space, backslash], what: String
        ) throws(LineError) -> String {
            var text: [UInt8] = []
            while position < end {
                let byte = bytes[position]
                if byte == backslash, position + 1 < end, escapes.contains(bytes[position + 1]) {
                    text.append(bytes[position + 1])
                    position += 2
                    continue
                }
                if stops.contains(byte) || byte == space { break }
                text.append(byte)
                position += 1
            }
            guard !text.isEmpty else { throw LineError("empty \(what)") }
            return String(decoding: text, as: UTF8.self)
        }

        /// A field's value as a number; nil for a string field (skipped).
        mutating func fieldValue(_ key: String) throws(LineError) -> Double? {
            if peek == quote {
                advance()
                while position < end {
                    if bytes[position] == backslash, position + 1 < end {
                        position += 2
                        continue
                    }
                    if bytes[position] == quote {
                        advance()
                        return nil
                    }
                    position += 1
                }
                throw LineError("string field \(JSONText.quoted(key)) has no closing quote")
            }
            let from = position
            while position < end, bytes[position] != comma, bytes[position] != space { position += 1 }
            let text = String(decoding: bytes[from..<position], as: UTF8.self)
            guard let value = Self.number(text) else {
                throw LineError("field \(JSONText.quoted(key)) has the value \(JSONText.quoted(String(text.prefix(40)))), not a number, integer (12i), unsigned (12u), boolean or string")
            }
            return value
        }

        static func number(_ text: String) -> Double? {
            switch text {
            case "t", "T", "true", "True", "TRUE": return 1
            case "f", "F", "false", "False", "FALSE": return 0
            default: break
            }
            // `{ Double($0) }`, not `.map(Double.init)`: for a UInt64 that picks `Double(bitPattern:)`.
            if text.hasSuffix("i") { return Int64(text.dropLast()).map { Double($0) } }
            if text.hasSuffix("u") { return UInt64(text.dropLast()).map { Double($0) } }
            guard let first = text.utf8.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") || first == dot
                || (first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9")),
                let value = Double(text), value.isFinite
            else { return nil }
            return value
        }

        /// The optional timestamp at the end of the line, in epoch milliseconds.
        mutating func timestamp(precision: Precision) throws(LineError) -> Int64? {
            skipSpaces()
            guard !atEnd else { return nil }
            let from = position
            while position < end, bytes[position] != space { position += 1 }
            let text = String(decoding: bytes[from..<position], as: UTF8.self)
            skipSpaces()
            guard atEnd else { throw LineError("unexpected text after the timestamp") }
            guard let value = Int64(text), let ms = precision.milliseconds(value) else {
                throw LineError("timestamp \(JSONText.quoted(String(text.prefix(40)))) is not an integer in the precision given")
            }
            return ms
        }
    }
}

private let newline = UInt8(ascii: "\n")
private let carriageReturn = UInt8(ascii: "\r")
private let space = UInt8(ascii: " ")
private let comma = UInt8(ascii: ",")
private let equals = UInt8(ascii: "=")
private let quote = UInt8(ascii: "\"")
private let backslash = UInt8(ascii: "\\")
private let hash = UInt8(ascii: "#")
private let underscore = UInt8(ascii: "_")
private let dot = UInt8(ascii: ".")
private let dash = UInt8(ascii: "-")
