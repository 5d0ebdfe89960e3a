/// Appends bit fields, most significant bit first, to a byte array.
///
/// Hand-written because it is the innermost loop of chunk encoding (about
/// ten bits a value); no package in the mirror offers a bit stream.
struct BitWriter: Sendable, Equatable {
    private(set) var bytes: [UInt8] = []
    /// Bits written so far; the last byte holds `bitCount % 8` of them when not a multiple of 8.
    private(set) var bitCount = 0

    init() {}

    /// Writes the low `count` bits of `value` (0...64 bits).
    mutating func write(_ value: UInt64, bits count: Int) {
        var remaining = count
        while remaining > 0 {
            let used = bitCount & 7
            if used == 0 { bytes.append(0) }
            let free = 8 - used
            let take = min(free, remaining)
            let field = (value >> UInt64(remaining - take)) & ((1 << UInt64(take)) - 1)
            bytes[bytes.count - 1] |= UInt8(truncatingIfNeeded: field) << UInt8(free - take)
            remaining -= take
            bitCount += take
        }
    }

    mutating func write(bit: Bool) {
        write(bit ? 1 : 0, bits: 1)
    }

    /// Appends another writer's bits after these.
    mutating func append(_ other: BitWriter) {
        var reader = BitReader(other.bytes, bitCount: other.bitCount)
        var remaining = other.bitCount
        while remaining > 0 {
            let take = min(64, remaining)
            // Cannot fail: the reader reads exactly the bits the other writer holds.
            let field = (try? reader.read(bits: take)) ?? 0
            write(field, bits: take)
            remaining -= take
        }
    }

    /// Bytes needed to hold the bits written.
    var byteCount: Int { (bitCount + 7) / 8 }
}
