/// A run of values in whichever of the two value encodings is smaller:
/// decimal integers when every value is a short decimal, else XOR floats.
/// Chunks seal their values this way; rollup blocks store each field so.
enum ValueColumn {
    struct Encoded: Sendable, Equatable {
        var encoding: ChunkFormat.Encoding
        var scale: Int
        var bits: BitWriter
    }

    static func encode(_ values: [Double]) -> Encoded {
        let decimal = decimalEncoded(values)
        // XOR spends at least 13 bits on a value that changed: against
        // decimals of 16 bits a value or fewer it cannot win by much, and
        // trying it would double the cost of every seal.
        if let decimal, decimal.bits.bitCount <= 16 * values.count { return decimal }
        var best = xorEncoded(values)
        if let decimal, decimal.bits.bitCount <= best.bits.bitCount { best = decimal }
        if best.bits.bitCount > 64 * values.count { best = rawEncoded(values) }
        return best
    }

    static func rawEncoded(_ values: [Double]) -> Encoded {
        var bits = BitWriter()
        for value in values { bits.write(value.bitPattern, bits: 64) }
        return Encoded(encoding: .raw, scale: 0, bits: bits)
    }

    static func xorEncoded(_ values: [Double]) -> Encoded {
        Encoded(encoding: .xor, scale: 0, bits: xorEncoder(values).bits)
    }

    static func decimalEncoded(_ values: [Double]) -> Encoded? {
        decimalEncoder(values).map { Encoded(encoding: .decimal, scale: $0.scale, bits: $0.bits) }
    }

    static func xorEncoder(_ values: [Double]) -> XORValueEncoder {
        var encoder = XORValueEncoder()
        for value in values { encoder.append(value) }
        return encoder
    }

    /// Decimal integers at the smallest scale that holds every value, or nil.
    static func decimalEncoder(_ values: [Double]) -> DecimalValueEncoder? {
        var scale = 0
        for value in values {
            guard let needed = DecimalScale.smallest(for: value, from: scale) else { return nil }
            scale = needed
        }
        var encoder = DecimalValueEncoder(scale: scale)
        for value in values where !encoder.append(value) { return nil }
        return encoder
    }

    /// Reads `count` values of `encoding` from `reader`, which must then hold only padding.
    static func decode(_ reader: BitReader, encoding: ChunkFormat.Encoding, scale: Int, count: Int) throws(ChunkError)
        -> [Double]
    {
        var values: [Double] = []
        values.reserveCapacity(count)
        switch encoding {
        case .xor:
            var decoder = XORValueDecoder(reader)
            for _ in 0..<count { values.append(try decoder.next()) }
            try decoder.remainingReader.requireOnlyPadding()
        case .decimal:
            var decoder = DecimalValueDecoder(reader, scale: scale)
            for _ in 0..<count { values.append(try decoder.next()) }
            try decoder.remainingReader.requireOnlyPadding()
        case .raw:
            var raw = reader
            for _ in 0..<count { values.append(Double(bitPattern: try raw.read(bits: 64))) }
            try raw.requireOnlyPadding()
        }
        return values
    }
}
