import TelehubCodec

/// What must hold for any bytes, checked by the libFuzzer target in
/// `Fuzz/Sources/FuzzChunk` (this file is linked there) and by
/// `ChunkFuzzCorpusTests` replaying its corpus.
public enum ChunkFuzzInvariants {
    public struct Violation: Error, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    public static func check(_ bytes: [UInt8]) throws(Violation) {
        try checkDecoding(bytes)
        try checkRoundTrip(bytes)
        _ = try? MinuteBlock.decode(bytes)  // must not trap, whatever it says
    }

    /// Bytes as a chunk: an error, or values that encode and decode back to themselves.
    static func checkDecoding(_ bytes: [UInt8]) throws(Violation) {
        guard let decoded = try? ChunkDecoder.decode(bytes) else { return }
        guard decoded.timestamps.count == decoded.values.count, decoded.count >= 1 else {
            throw Violation("a decoded chunk with \(decoded.timestamps.count) times and \(decoded.values.count) values")
        }
        try expectRoundTrip(decoded)
    }

    /// Bytes as 16-byte (time, value) pairs, appended in that order: any times, any doubles.
    static func checkRoundTrip(_ bytes: [UInt8]) throws(Violation) {
        var input = DecodedChunk()
        var offset = 0
        while offset + 16 <= bytes.count {
            var ts: UInt64 = 0
            var value: UInt64 = 0
            for index in 0..<8 {
                ts |= UInt64(bytes[offset + index]) << UInt64(8 * index)
                value |= UInt64(bytes[offset + 8 + index]) << UInt64(8 * index)
            }
            input.timestamps.append(Int64(bitPattern: ts))
            input.values.append(Double(bitPattern: value))
            offset += 16
        }
        guard input.count > 0 else { return }
        try expectRoundTrip(input)
    }

    static func expectRoundTrip(_ input: DecodedChunk) throws(Violation) {
        var builder = ChunkBuilder()
        for (ts, value) in zip(input.timestamps, input.values) { builder.append(ts: ts, value: value) }
        for (name, encoded) in [("encoded", builder.encoded()), ("sealed", builder.sealed())] {
            guard let output = try? ChunkDecoder.decode(encoded) else { throw Violation("the \(name) chunk does not decode") }
            guard output.isIdentical(to: input) else { throw Violation("the \(name) chunk decodes to other values") }
            // One flipped bit anywhere is always caught by the checksum.
            var damaged = encoded
            let seed = (input.timestamps.first.map { Int(truncatingIfNeeded: $0) } ?? 0) & Int.max
            let bit = seed % (encoded.count * 8)
            damaged[bit / 8] ^= 1 << UInt8(bit % 8)
            if (try? ChunkDecoder.decode(damaged)) != nil { throw Violation("the \(name) chunk decodes with bit \(bit) flipped") }
        }
    }
}
