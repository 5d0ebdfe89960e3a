import CompressNIO
import NIOCore

/// Batch messages as devices send them (four sensor metrics a reading, two or
/// three decimals, random within a sensor's usual range), framed before the clock
/// starts, so the generator spends its time on sockets rather than on JSON.
struct MessageCorpus {
    static let metricsPerReading = 4
    private let compressor: (any NIOCompressor)?
    private var values = SensorValues()
    /// How many of the four sensor metrics each reading carries (1...4).
    private let metrics: Int

    init(deflate: Bool, metrics: Int = MessageCorpus.metricsPerReading) throws {
        self.metrics = max(1, min(Self.metricsPerReading, metrics))
        if deflate {
            let compressor = CompressionAlgorithm.deflate().compressor
            try compressor.startStream()
            self.compressor = compressor
        } else {
            compressor = nil
        }
    }

    /// One framed `batch` message: `readings` readings from `ts`, 1 ms apart.
    mutating func frame(seq: Int, ts: Int64, readings: Int) throws -> ByteBuffer {
        let text = batch(seq: seq, ts: ts, readings: readings)
        guard let compressor else { return WebSocketFrames.clientText(text, compressed: false) }
        return WebSocketFrames.clientText(try Self.deflate(text, compressor), compressed: true)
    }

    /// The text of one `batch` message, as a WebSocket frame or an HTTP body carries it.
    mutating func batch(seq: Int, ts: Int64, readings: Int) -> ByteBuffer {
        var text = ByteBuffer()
        text.reserveCapacity(48 + readings * 96)
        text.writeString(#"{"type":"batch","seq":"#)
        text.writeString(String(seq))
        text.writeString(#","readings":["#)
        for index in 0..<readings {
            if index > 0 { text.writeString(",") }
            text.writeString(#"{"ts":"#)
            text.writeString(String(ts + Int64(index)))
            let reading = values.next()
            let fields = [("humidity", reading.humidity), ("pressure", reading.pressure),
                          ("temperature", reading.temperature), ("voltage", reading.voltage)]
            text.writeString(#","metrics":{"#)
            for (position, (name, value)) in fields.prefix(metrics).enumerated() {
                text.writeString(position == 0 ? "\"" : ",\"")
                text.writeString(name)
                text.writeString("\":")
                text.writeString(value)
            }
            text.writeString("}}")
        }
        text.writeString("]}")
        return text
    }

    /// RFC 7692 §7.2.1: compress, flush to a byte boundary, drop the
    /// trailing empty block's `00 00 FF FF`. A fresh stream each message, as
    /// `client_no_context_takeover` promises the hub.
    private static func deflate(_ text: ByteBuffer, _ compressor: any NIOCompressor) throws -> ByteBuffer {
        var input = text
        var output = ByteBuffer()
        output.reserveCapacity(compressor.maxSize(from: text) + 16)
        try compressor.streamDeflate(from: &input, to: &output, flush: .sync)
        try compressor.resetStream()
        if output.readableBytesView.suffix(4).elementsEqual([0x00, 0x00, 0xFF, 0xFF]) {
            output.moveWriterIndex(to: output.writerIndex - 4)
        }
        return output
    }
}

/// The four values of each reading, the same sequence every run and for
/// every corpus (the hub's and InfluxDB's get the same values), as decimal
/// text: random within a sensor's range, two or three decimals.
struct SensorValues {
    private var state: UInt64 = 0x9E37_79B9_7F4A_7C15

    mutating func next() -> (humidity: String, pressure: String, temperature: String, voltage: String) {
        (Self.decimal(4000 + draw(2000), places: 2), Self.decimal(101_000 + draw(3000), places: 2),
         Self.decimal(2000 + draw(800), places: 2), Self.decimal(3200 + draw(200), places: 3))
    }

    /// 0 ..< span, from an xorshift generator.
    private mutating func draw(_ span: Int) -> Int {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return Int(state % UInt64(span))
    }

    private static func decimal(_ scaled: Int, places: Int) -> String {
        let unit = places == 3 ? 1000 : 100
        let fraction = String(scaled % unit)
        return "\(scaled / unit)." + String(repeating: "0", count: places - fraction.count) + fraction
    }
}
