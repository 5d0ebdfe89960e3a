import TelehubCore

/// The readings of a shared-log entry as JSON, written and read by hand.
/// Written once by the committing hub and read by every hub, they took over
/// half of a hub's CPU on PostgreSQL through `JSONEncoder` and `JSONDecoder`
/// (`perf record -g` during `telehub bench --scale-out`: 27% encoding, 27%
/// decoding). The text is exactly what `write` makes (names need no escapes,
/// `NameRules`; values are finite and formatted by `NumberText`), so `read`
/// accepts only that form and answers nil for anything else, which the
/// caller then decodes with `JSONDecoder` as before.
enum LoggedReadingsText {
    /// `[{"device":…,"ts":…,"metrics":{…}},…]`, each element the stream's own `reading` event.
    static func write(_ readings: [(device: String, reading: Reading)]) -> String {
        var text = "["
        text.reserveCapacity(readings.count * 100)
        for (index, item) in readings.enumerated() {
            if index > 0 { text += "," }
            text += ReadingEvent.json(device: item.device, ts: item.reading.ts, metrics: item.reading.metrics)
        }
        return text + "]"
    }

    /// The array `write` made, from `start` in `bytes`, with the index just
    /// after its `]`; nil when the text is not exactly that form. Metrics come
    /// sorted by name, as `Reading`'s decoding gives them.
    static func read(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> (readings: [(device: String, reading: Reading)], end: Int)? {
        var parser = Parser(bytes: bytes, at: start)
        guard let readings = parser.readings() else { return nil }
        return (readings, parser.at)
    }

    private struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        var at: Int

        mutating func readings() -> [(device: String, reading: Reading)]? {
            guard take(UInt8(ascii: "[")) else { return nil }
            var result: [(device: String, reading: Reading)] = []
            if take(UInt8(ascii: "]")) { return result }
            repeat {
                guard take(#"{"device":"#), let device = name(), take(#","ts":"#), let ts = integer(), take(#","metrics":{"#)
                else { return nil }
                var metrics: [MetricValue] = []
                if !take(UInt8(ascii: "}")) {
                    repeat {
                        guard let metric = name(), take(UInt8(ascii: ":")), let value = number() else { return nil }
                        metrics.append(MetricValue(name: metric, value: value))
                    } while take(UInt8(ascii: ","))
                    guard take(UInt8(ascii: "}")) else { return nil }
                }
                guard take(UInt8(ascii: "}")) else { return nil }
                metrics.sort { $0.name < $1.name }
                result.append((device, Reading(ts: ts, metrics: metrics)))
            } while take(UInt8(ascii: ","))
            return take(UInt8(ascii: "]")) ? result : nil
        }

        private mutating func take(_ byte: UInt8) -> Bool {
            guard at < bytes.count, bytes[at] == byte else { return false }
            at += 1
            return true
        }

        private mutating func take(_ literal: StaticString) -> Bool {
            let matched = literal.withUTF8Buffer { text -> Int? in
                guard at + text.count <= bytes.count, text.indices.allSatisfy({ bytes[at + $0] == text[$0] }) else { return nil }
                return text.count
            }
            guard let matched else { return false }
            at += matched
            return true
        }

        /// A quoted name; one with an escape is not of this form.
        private mutating func name() -> String? {
            guard take(UInt8(ascii: "\"")) else { return nil }
            let begin = at
            while at < bytes.count, bytes[at] != UInt8(ascii: "\""), bytes[at] != UInt8(ascii: "\\") { at += 1 }
            guard at < bytes.count, bytes[at] == UInt8(ascii: "\"") else { return nil }
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[begin..<at]), as: UTF8.self)
            at += 1
            return text
        }

        private mutating func integer() -> Int64? {
            let negative = take(UInt8(ascii: "-"))
            let begin = at
            var value: Int64 = 0
            while at < bytes.count, bytes[at] >= UInt8(ascii: "0"), bytes[at] <= UInt8(ascii: "9") {
                let (shifted, overflow) = value.multipliedReportingOverflow(by: 10)
                let (sum, carry) = shifted.addingReportingOverflow(Int64(bytes[at] - UInt8(ascii: "0")))
                guard !overflow, !carry else { return nil }
                value = sum
                at += 1
            }
            guard at > begin else { return nil }
            return negative ? -value : value
        }

        /// A JSON number (`null`, written for a non-finite value, is not one).
        private mutating func number() -> Double? {
            let begin = at
            while at < bytes.count, Self.isNumberByte(bytes[at]) { at += 1 }
            guard at > begin, at - begin <= 40 else { return nil }
            return Double(String(decoding: UnsafeBufferPointer(rebasing: bytes[begin..<at]), as: UTF8.self))
        }

        private static func isNumberByte(_ byte: UInt8) -> Bool {
            (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+")
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E")
        }
    }
}
