#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension LineProtocol {
    /// One pass over a body's bytes. Tokens are ranges into the body, never
    /// copies; a metric name is composed in one reused buffer and becomes a
    /// `String` only once it is stored. The tag list and that buffer live as
    /// long as the body, so a line costs no allocation but its reading.
    struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        let precision: Precision
        let now: Int64
        let limits: IngestLimits?
        private var tags: [(key: Range<Int>, value: Range<Int>)] = []
        private var name: [UInt8] = []
        /// The names the previous lines made, by field position: Telegraf
        /// repeats a measurement's tags and fields line after line, so a
        /// name equal to the one before is shared, not allocated again.
        private var recentNames: [(bytes: [UInt8], name: String)] = []

        init(bytes: UnsafeBufferPointer<UInt8>, precision: Precision, now: Int64, limits: IngestLimits?) {
            self.bytes = bytes
            self.precision = precision
            self.now = now
            self.limits = limits
            name.reserveCapacity(128)
        }

        mutating func parseBody() throws(ParseError) -> [Reading] {
            var readings: [Reading] = []
            var start = 0
            var number = 0
            while start < bytes.count {
                number += 1
                var end = start
                while end < bytes.count, bytes[end] != Byte.newline { end += 1 }
                var lineEnd = end
                if lineEnd > start, bytes[lineEnd - 1] == Byte.carriageReturn { lineEnd -= 1 }
                let reading: Reading?
                do {
                    reading = try parseLine(start, lineEnd)
                } catch {
                    throw ParseError(line: number, message: error.message, isTooLarge: error.isTooLarge)
                }
                if let reading {
                    if let limits, readings.count == limits.maxBatch {
                        throw ParseError(
                            line: number, message: "more than \(limits.maxBatch) lines with values; send at most that many a request",
                            isTooLarge: true)
                    }
                    readings.append(reading)
                }
                start = end + 1
            }
            return readings
        }

        // MARK: - One line

        private mutating func parseLine(_ start: Int, _ end: Int) throws(LineError) -> Reading? {
            var position = start
            while position < end, bytes[position] == Byte.space { position += 1 }
            if position == end || bytes[position] == Byte.hash { return nil }  // blank, or a comment
            let measurement = try token(&position, end, stopAtEquals: false, what: "measurement")
            tags.removeAll(keepingCapacity: true)
            while position < end, bytes[position] == Byte.comma {
                position += 1
                let key = try token(&position, end, stopAtEquals: true, what: "tag key")
                guard position < end, bytes[position] == Byte.equals else {
                    throw LineError("tag \(quoted(key)) has no value")
                }
                position += 1
                tags.append((key, try token(&position, end, stopAtEquals: false, what: "value of tag \(quoted(key))")))
            }
            guard position < end, bytes[position] == Byte.space else {
                throw LineError("expected a space and fields after \(quoted(measurement))")
            }
            while position < end, bytes[position] == Byte.space { position += 1 }
            composePrefix(measurement)
            // The prefix is the same for every field of the line: made to
            // follow the name rule once (the rule maps byte by byte, and `_`
            // is allowed anywhere), so each field adds only its own key.
            LineProtocol.sanitizeBytes(&name, from: 0)
            let prefixCount = name.count
            var metrics: [MetricValue] = []
            var field = 0
            repeat {
                if position < end, bytes[position] == Byte.comma { position += 1 }
                let key = try token(&position, end, stopAtEquals: true, what: "field key")
                guard position < end, bytes[position] == Byte.equals else { throw LineError("field \(quoted(key)) has no value") }
                position += 1
                if let value = try fieldValue(&position, end, key: key) {
                    name.removeLast(name.count - prefixCount)
                    name.append(Byte.dot)
                    appendUnescaped(key)
                    try LineProtocol.checkLength(name)
                    LineProtocol.sanitizeBytes(&name, from: prefixCount + 1)
                    let metric = MetricValue(name: sharedName(at: field), value: value)
                    field += 1
                    // A repeated field: the last one counts.
                    if let index = metrics.firstIndex(where: { $0.name == metric.name }) { metrics.remove(at: index) }
                    metrics.append(metric)
                }
            } while position < end && bytes[position] == Byte.comma
            let ts = try timestamp(&position, end) ?? now
            guard !metrics.isEmpty else { return nil }
            try check(ts: ts, metrics: metrics)
            return Reading(ts: ts, metrics: metrics)
        }

        /// `name` as a `String`, the one made for the same position before when the bytes are the same.
        private mutating func sharedName(at position: Int) -> String {
            if position < recentNames.count, Self.sameBytes(recentNames[position].bytes, name) { return recentNames[position].name }
            let made = String(decoding: name, as: UTF8.self)
            if position < recentNames.count {
                recentNames[position] = (name, made)
            } else if position == recentNames.count, position < 64 {
                recentNames.append((name, made))
            }
            return made
        }

        /// A `memcmp` where `==` on two arrays went through the generic element-by-element path.
        private static func sameBytes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
            a.count == b.count
                && a.withUnsafeBufferPointer { a in
                    b.withUnsafeBufferPointer { b in a.count == 0 || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0 }
                }
        }

        /// The message bounds of ingest, so the door stores nothing ingest would refuse.
        private func check(ts: Int64, metrics: [MetricValue]) throws(LineError) {
            guard let limits else { return }
            if ts < IngestLimits.earliestTimestamp { throw LineError("timestamp \(ts) ms is before 2000-01-01") }
            if ts > now + limits.maxFutureSkewMs {
                throw LineError("timestamp \(ts) ms is more than \(limits.maxFutureSkewMs / 60000) minutes in the future")
            }
            if metrics.count > limits.maxMetricsPerReading {
                throw LineError("\(metrics.count) fields with values, at most \(limits.maxMetricsPerReading) a line", isTooLarge: true)
            }
            if let metric = metrics.first(where: { abs($0.value) > IngestLimits.maxMagnitude }) {
                throw LineError("field of \(JSONText.quoted(metric.name)): magnitude above 1e100")
            }
        }

        /// `measurement.tagvalue…` (tag values in tag-key order) into `name`.
        private mutating func composePrefix(_ measurement: Range<Int>) {
            name.removeAll(keepingCapacity: true)
            appendUnescaped(measurement)
            // Insertion sort: a handful of tags, nearly always sorted already (Telegraf sorts them).
            if tags.count > 1 {
                for index in 1..<tags.count {
                    var at = index
                    while at > 0, unescaped(tags[at].key).lexicographicallyPrecedes(unescaped(tags[at - 1].key)) {
                        tags.swapAt(at, at - 1)
                        at -= 1
                    }
                }
            }
            for tag in tags {
                name.append(Byte.dot)
                appendUnescaped(tag.value)
            }
        }

        // MARK: - Tokens

        /// Up to an unescaped Byte.comma or Byte.space (or `=`): `\` before a Byte.comma,
        /// Byte.space, `=` or `\` stands for it; before anything else it is itself.
        private func token(_ position: inout Int, _ end: Int, stopAtEquals: Bool, what: @autoclosure () -> String)
            throws(LineError) -> Range<Int>
        {
            let from = position
            while position < end {
                let byte = bytes[position]
                if byte == Byte.backslash, position + 1 < end, Self.isEscapable(bytes[position + 1]) {
                    position += 2
                    continue
                }
                if byte == Byte.comma || byte == Byte.space || (stopAtEquals && byte == Byte.equals) { break }
                position += 1
            }
            guard position > from else { throw LineError("empty \(what())") }
            return from..<position
        }

        static func isEscapable(_ byte: UInt8) -> Bool {
            byte == Byte.comma || byte == Byte.equals || byte == Byte.space || byte == Byte.backslash
        }

        private func unescaped(_ range: Range<Int>) -> Unescaped {
            Unescaped(bytes: bytes, range: range)
        }

        /// Most tokens have no escape: those are copied as one block.
        private mutating func appendUnescaped(_ range: Range<Int>) {
            let raw = UnsafeBufferPointer(rebasing: bytes[range])
            if raw.contains(Byte.backslash) {
                name.append(contentsOf: unescaped(range))
            } else {
                name.append(contentsOf: raw)
            }
        }

        private func quoted(_ range: Range<Int>) -> String {
            JSONText.quoted(String(decoding: Array(unescaped(range)).prefix(80), as: UTF8.self))
        }

        /// A field's value as a number; nil for a string field (skipped).
        private func fieldValue(_ position: inout Int, _ end: Int, key: Range<Int>) throws(LineError) -> Double? {
            if position < end, bytes[position] == Byte.quote {
                position += 1
                while position < end {
                    if bytes[position] == Byte.backslash, position + 1 < end {
                        position += 2
                        continue
                    }
                    if bytes[position] == Byte.quote {
                        position += 1
                        return nil
                    }
                    position += 1
                }
                throw LineError("string field \(quoted(key)) has no closing quote")
            }
            let from = position
            while position < end, bytes[position] != Byte.comma, bytes[position] != Byte.space { position += 1 }
            if let value = Self.plainDecimal(UnsafeBufferPointer(rebasing: bytes[from..<position])) { return value }
            // Up to 15 bytes a String is stored inline: no allocation for a number.
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[from..<position]), as: UTF8.self)
            guard let value = LineProtocol.number(text) else {
                throw LineError(
                    "field \(quoted(key)) has the value \(JSONText.quoted(String(text.prefix(40)))), not a number, integer (12i), unsigned (12u), boolean or string")
            }
            return value
        }

        /// The optional timestamp at the end of the line, in epoch milliseconds.
        private func timestamp(_ position: inout Int, _ end: Int) throws(LineError) -> Int64? {
            while position < end, bytes[position] == Byte.space { position += 1 }
            guard position < end else { return nil }
            let from = position
            while position < end, bytes[position] != Byte.space { position += 1 }
            let digits = UnsafeBufferPointer(rebasing: bytes[from..<position])
            while position < end, bytes[position] == Byte.space { position += 1 }
            guard position == end else { throw LineError("unexpected text after the timestamp") }
            guard let value = Self.integer(digits) ?? Int64(String(decoding: digits, as: UTF8.self)), let ms = precision.milliseconds(value) else {
                let text = String(decoding: digits, as: UTF8.self)
                throw LineError("timestamp \(JSONText.quoted(String(text.prefix(40)))) is not an integer in the precision given")
            }
            return ms
        }
    }

}

extension LineProtocol.Parser {
    /// Powers of ten a `Double` holds exactly.
    private static let exactPowers: [Double] = (0...22).map { Double("1e\($0)")! }

    /// The common field value, `-12.375` or `42`, read straight from its
    /// bytes: at most 15 digits, no exponent. Both the digits and the power of
    /// ten are exact doubles, so one division rounds correctly, as `strtod`
    /// would. Anything else (exponents, integers `12i`, booleans) is nil here.
    static func plainDecimal(_ text: UnsafeBufferPointer<UInt8>) -> Double? {
        var index = 0
        var negative = false
        if index < text.count, text[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        var mantissa: Int64 = 0
        var digits = 0
        var scale = -1
        while index < text.count {
            let byte = text[index]
            if byte == LineProtocol.Byte.dot {
                guard scale < 0 else { return nil }
                scale = 0
            } else if byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                digits += 1
                guard digits <= 15 else { return nil }
                mantissa = mantissa * 10 + Int64(byte - UInt8(ascii: "0"))
                if scale >= 0 { scale += 1 }
            } else {
                return nil
            }
            index += 1
        }
        guard digits > 0 else { return nil }
        let value = Double(mantissa) / exactPowers[max(0, scale)]
        return negative ? -value : value
    }

    /// A timestamp's digits (with an optional minus) as an `Int64`; nil for
    /// anything else or past its range (then the caller's error says so).
    static func integer(_ text: UnsafeBufferPointer<UInt8>) -> Int64? {
        var index = 0
        let negative = text.first == UInt8(ascii: "-")
        if negative { index = 1 }
        guard text.count > index, text.count - index <= 19 else { return nil }
        var value: Int64 = 0
        while index < text.count {
            let byte = text[index]
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (times10, overflow) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflowAdding) = times10.addingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
            guard !overflow, !overflowAdding else { return nil }
            value = sum
            index += 1
        }
        return negative ? -value : value
    }
}

extension LineProtocol {
    /// A token's bytes with its escapes resolved.
    struct Unescaped: Sequence, IteratorProtocol {
        let bytes: UnsafeBufferPointer<UInt8>
        var range: Range<Int>

        mutating func next() -> UInt8? {
            guard let position = range.first else { return nil }
            let byte = bytes[position]
            if byte == Byte.backslash, position + 1 < range.upperBound, Parser.isEscapable(bytes[position + 1]) {
                range = (position + 2)..<range.upperBound
                return bytes[position + 1]
            }
            range = (position + 1)..<range.upperBound
            return byte
        }
    }
}
