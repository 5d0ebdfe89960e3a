import CompressNIO
import NIOCore

/// Batch messages as devices send them (four sensor metrics a reading, two or
/// three decimals, random within a sensor's usual range), framed before the clock
/// starts, so the generator spends its time on sockets rather than on JSON.
struct MessageCorpus {
    static let metricsPerReading = 4
    private let compressor: (any NIOCompressor)?
    private var walk: UInt64 = 0x9E37_79B9_7F4A_7C15

    init(deflate: Bool) throws {
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
        var text = ByteBuffer()
        text.reserveCapacity(48 + readings * 96)
        text.writeString(#"{"type":"batch","seq":"#)
        text.writeString(String(seq))
        text.writeString(#","readings":["#)
        for index in 0..<readings {
            if index > 0 { text.writeString(",") }
            text.writeString(#"{"ts":"#)
            text.writeString(String(ts + Int64(index)))
            text.writeString(#","metrics":{"humidity":"#)
            writeDecimal(&text, 4000 + next(2000), places: 2)
            text.writeString(#","pressure":"#)
            writeDecimal(&text, 101_000 + next(3000), places: 2)
            text.writeString(#","temperature":"#)
            writeDecimal(&text, 2000 + next(800), places: 2)
            text.writeString(#","voltage":"#)
            writeDecimal(&text, 3200 + next(200), places: 3)
            text.writeString("}}")
        }
        text.writeString("]}")
        guard let compressor else { return WebSocketFrames.clientText(text, compressed: false) }
        return WebSocketFrames.clientText(try Self.deflate(text, compressor), compressed: true)
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

    /// 0 ..< span, from an xorshift generator: the same corpus every run.
    private mutating func next(_ span: Int) -> Int {
        walk ^= walk << 13
        walk ^= walk >> 7
        walk ^= walk << 17
        return Int(walk % UInt64(span))
    }

    private func writeDecimal(_ buffer: inout ByteBuffer, _ scaled: Int, places: Int) {
        let unit = places == 3 ? 1000 : 100
        buffer.writeString(String(scaled / unit))
        buffer.writeString(".")
        let fraction = String(scaled % unit)
        buffer.writeString(String(repeating: "0", count: places - fraction.count) + fraction)
    }
}
