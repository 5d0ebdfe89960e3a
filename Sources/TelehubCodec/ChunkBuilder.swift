/// Builds one chunk of a series a value at a time, so the store can append
/// a commit's values to a series' open chunk without decoding it again.
///
/// Values are kept as decimal integers while they are short decimals, and
/// as XOR floats as soon as one is not; `sealed()` then picks whichever of
/// the two encodings is smaller for the whole chunk. Timestamps may come in
/// any order (the store appends in order; the codec does not require it).
public struct ChunkBuilder: Sendable, Equatable {
    private enum Values: Sendable, Equatable {
        case empty
        case decimal(DecimalValueEncoder)
        case xor(XORValueEncoder)
    }

    private var timestamps = TimestampEncoder()
    private var values = Values.empty
    public private(set) var firstTimestamp: Int64?

    public init() {}

    /// A builder holding exactly the values of `chunk`, to append to it.
    public init(_ chunk: DecodedChunk) {
        for (ts, value) in zip(chunk.timestamps, chunk.values) { append(ts: ts, value: value) }
    }

    public var count: Int { timestamps.count }
    public var isEmpty: Bool { count == 0 }
    public var lastTimestamp: Int64? { isEmpty ? nil : timestamps.last }

    public mutating func append(ts: Int64, value: Double) {
        if isEmpty { firstTimestamp = ts }
        timestamps.append(ts)
        switch values {
        case .empty:
            if let scale = DecimalScale.smallest(for: value) {
                var encoder = DecimalValueEncoder(scale: scale)
                _ = encoder.append(value)
                values = .decimal(encoder)
            } else {
                var encoder = XORValueEncoder()
                encoder.append(value)
                values = .xor(encoder)
            }
        case .decimal(var encoder):
            values = .empty  // the encoder is uniquely referenced while it grows
            if encoder.append(value) {
                values = .decimal(encoder)
            } else {
                values = Self.reencoded(Self.decodeValues(.decimal(encoder)) + [value])
            }
        case .xor(var encoder):
            values = .empty
            encoder.append(value)
            values = .xor(encoder)
        }
    }

    /// Size in bytes of `encoded()` now.
    public var encodedSize: Int {
        let valueBits: Int
        switch values {
        case .empty: valueBits = 0
        case .decimal(let encoder): valueBits = encoder.bitCount
        case .xor(let encoder): valueBits = encoder.bits.bitCount
        }
        return ChunkFormat.size(count: count, timestampBits: timestamps.bits.bitCount, valueBits: valueBits)
    }

    /// The chunk as it stands, in its current encoding (cheap: for a chunk still growing).
    /// - Precondition: at least one value.
    public func encoded() -> [UInt8] {
        precondition(!isEmpty, "a chunk holds at least one value")
        switch values {
        case .empty:
            preconditionFailure("a chunk holds at least one value")
        case .decimal(let encoder):
            return ChunkFormat.assemble(
                encoding: .decimal, scale: encoder.scale, count: count, timestamps: timestamps.bits, values: encoder.bits)
        case .xor(let encoder):
            return ChunkFormat.assemble(encoding: .xor, scale: 0, count: count, timestamps: timestamps.bits, values: encoder.bits)
        }
    }

    /// The chunk in whichever encoding is smaller, for a chunk that is full.
    public func sealed() -> [UInt8] {
        let current = encoded()
        let all = Self.decodeValues(values)
        let other: Values
        switch values {
        case .decimal:
            var encoder = XORValueEncoder()
            for value in all { encoder.append(value) }
            other = .xor(encoder)
        case .xor, .empty:
            other = Self.reencoded(all)
            guard case .decimal = other else { return current }
        }
        var alternative = self
        alternative.values = other
        let candidate = alternative.encoded()
        return candidate.count < current.count ? candidate : current
    }

    /// `all` as decimals at the smallest scale that holds every one, else as XOR floats.
    private static func reencoded(_ all: [Double]) -> Values {
        var scale = 0
        for value in all {
            guard let needed = DecimalScale.smallest(for: value, from: scale) else { return xor(all) }
            scale = needed
        }
        var encoder = DecimalValueEncoder(scale: scale)
        for value in all where !encoder.append(value) { return xor(all) }
        return .decimal(encoder)
    }

    private static func xor(_ all: [Double]) -> Values {
        var encoder = XORValueEncoder()
        for value in all { encoder.append(value) }
        return .xor(encoder)
    }

    /// The values appended so far, read back from their own stream.
    private static func decodeValues(_ values: Values) -> [Double] {
        var result: [Double] = []
        switch values {
        case .empty:
            break
        case .decimal(let encoder):
            var decoder = DecimalValueDecoder(BitReader(encoder.bits.bytes, bitCount: encoder.bits.bitCount), scale: encoder.scale)
            for _ in 0..<encoder.count { result.append((try? decoder.next()) ?? .nan) }
        case .xor(let encoder):
            var decoder = XORValueDecoder(BitReader(encoder.bits.bytes, bitCount: encoder.bits.bitCount))
            for _ in 0..<encoder.count { result.append((try? decoder.next()) ?? .nan) }
        }
        return result
    }
}
