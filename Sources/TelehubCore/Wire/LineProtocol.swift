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
            case .nanoseconds: floorDiv(value, 1_000_000)
            case .microseconds: floorDiv(value, 1000)
            case .milliseconds: value
            case .seconds: multiplied(value, 1000)
            case .minutes: multiplied(value, 60_000)
            case .hours: multiplied(value, 3_600_000)
            }
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
        /// The body is over a bound (too many lines with values): 413, not 400.
        public var isTooLarge: Bool

        public init(line: Int, message: String, isTooLarge: Bool = false) {
            self.line = line
            self.message = message
            self.isTooLarge = isTooLarge
        }

        public var description: String { "line \(line): \(message)" }
    }

    /// Every line's readings, in order; a line whose fields are all strings gives none.
    /// - Parameter limits: the hub's bounds on a message, checked line by line
    ///   (timestamps, magnitudes, values a line, lines with values a body);
    ///   nil checks the syntax alone.
    /// - Throws: the first bad line; then nothing of the body may be stored.
    public static func parse(
        _ body: some Collection<UInt8>, precision: Precision = .nanoseconds, now: Int64, limits: IngestLimits? = nil
    ) throws(ParseError) -> [Reading] {
        let run = { (bytes: UnsafeBufferPointer<UInt8>) -> Result<[Reading], ParseError> in
            var parser = Parser(bytes: bytes, precision: precision, now: now, limits: limits)
            return Result { () throws(ParseError) in try parser.parseBody() }
        }
        if let result = body.withContiguousStorageIfAvailable(run) { return try result.get() }
        return try Array(body).withUnsafeBufferPointer(run).get()
    }

    struct LineError: Error {
        var message: String
        /// Over a bound of the hub rather than malformed: 413, as ingest answers it.
        var isTooLarge = false
        init(_ message: String, isTooLarge: Bool = false) {
            self.message = message
            self.isTooLarge = isTooLarge
        }
    }

    /// A metric name is at most 64 bytes.
    static func checkLength(_ bytes: [UInt8]) throws(LineError) {
        guard bytes.count <= 64 else {
            let shown = String(decoding: bytes.prefix(80), as: UTF8.self)
            throw LineError("metric name \(JSONText.quoted(shown)) is longer than 64 characters")
        }
    }

    /// Replaces, in place, every byte of `bytes[from...]` outside the
    /// metric-name rule with `_` (a multi-byte character becomes several `_`;
    /// that is still one name per input): the first byte of the name a letter
    /// or `_`, the others letters, digits, `_`, `.` or `-`. Mapping is per
    /// byte, so a part already mapped is left as it is.
    static func sanitizeBytes(_ bytes: inout [UInt8], from: Int) {
        guard from < bytes.count else { return }
        for index in from..<bytes.count {
            let byte = bytes[index]
            let letter = (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z")
            let digit = byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
            let allowed = index == 0 ? letter || byte == Byte.underscore : letter || digit || byte == Byte.underscore || byte == Byte.dot || byte == Byte.dash
            if !allowed { bytes[index] = Byte.underscore }
        }
    }

    /// A field's text as a number: float, `12i`, `12u`, or a boolean; nil otherwise.
    static func number(_ text: String) -> Double? {
        switch text {
        case "t", "T", "true", "True", "TRUE": return 1
        case "f", "F", "false", "False", "FALSE": return 0
        default: break
        }
        // `{ Double($0) }`, not `.map(Double.init)`: for a UInt64 that picks `Double(bitPattern:)`.
        if text.hasSuffix("i") { return Int64(text.dropLast()).map { Double($0) } }
        if text.hasSuffix("u") { return UInt64(text.dropLast()).map { Double($0) } }
        // Swift reads hexadecimal floats and "inf"; line protocol has neither.
        guard let first = text.utf8.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") || first == Byte.dot
            || (first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9")),
            !text.utf8.contains(where: { $0 | 0x20 == UInt8(ascii: "x") }),
            let value = Double(text), value.isFinite
        else { return nil }
        return value
    }
}

extension LineProtocol {
    /// The bytes line protocol gives a meaning to.
    enum Byte {
        static let newline = UInt8(ascii: "\n")
        static let carriageReturn = UInt8(ascii: "\r")
        static let space = UInt8(ascii: " ")
        static let comma = UInt8(ascii: ",")
        static let equals = UInt8(ascii: "=")
        static let quote = UInt8(ascii: "\"")
        static let backslash = UInt8(ascii: "\\")
        static let hash = UInt8(ascii: "#")
        static let underscore = UInt8(ascii: "_")
        static let dot = UInt8(ascii: ".")
        static let dash = UInt8(ascii: "-")
    }
}
