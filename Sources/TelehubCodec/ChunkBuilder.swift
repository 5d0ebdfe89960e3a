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

    /// Whether `value` joins the chunk in its current encoding; if not,
    /// appending it re-encodes every value (at a finer scale, or as XOR floats).
    public func accepts(_ value: Double) -> Bool {
        switch values {
        case .empty, .xor: true
        case .decimal(let encoder): DecimalScale.integer(value, scale: encoder.scale) != nil
        }
    }

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
        switch values {
        case .empty:
            // Unreachable from any input: the store encodes only builders it has
            // just appended to (`ChunkWriter`, `ChunkSplitter.finish` checks
            // `isEmpty`), and the fuzz invariants only builders of one value or more.
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
        // Compact decimals and XOR floats that save bits are kept as they are
        // (see `ValueColumn.encode`); otherwise the smallest encoding is chosen
        // again, plain 64-bit values included.
        switch values {
        case .empty: return encoded()
        case .xor(let encoder) where encoder.bits.bitCount <= 64 * encoder.count: return encoded()
        case .decimal(let encoder) where encoder.bitCount <= 16 * encoder.count: return encoded()
        case .xor, .decimal: break
        }
        let best = ValueColumn.encode(Self.decodeValues(values))
        return ChunkFormat.assemble(
            encoding: best.encoding, scale: best.scale, count: count, timestamps: timestamps.bits, values: best.bits)
    }

    /// `all` as decimals at the smallest scale that holds every one, else as XOR floats.
    private static func reencoded(_ all: [Double]) -> Values {
        ValueColumn.decimalEncoder(all).map { .decimal($0) } ?? .xor(ValueColumn.xorEncoder(all))
    }

    /// The values appended so far, read back from their own stream.
    private static func decodeValues(_ values: Values) -> [Double] {
        let stream: (ChunkFormat.Encoding, Int, BitWriter, Int)
        switch values {
        case .empty: return []
        case .decimal(let encoder): stream = (.decimal, encoder.scale, encoder.bits, encoder.count)
        case .xor(let encoder): stream = (.xor, 0, encoder.bits, encoder.count)
        }
        let reader = BitReader(stream.2.bytes, bitCount: stream.2.bitCount)
        // Cannot fail: the stream was written by this builder.
        return (try? ValueColumn.decode(reader, encoding: stream.0, scale: stream.1, count: stream.3)) ?? []
    }
}
