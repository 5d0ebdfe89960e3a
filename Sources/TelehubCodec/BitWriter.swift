/// Appends bit fields, most significant bit first, to a byte array.
///
/// Hand-written because it is the innermost loop of chunk encoding (about
/// ten bits a value); no package in the mirror offers a bit stream. Bits
/// gather in a 64-bit word and go to the array a byte at a time.
struct BitWriter: Sendable, Equatable {
    /// Whole bytes written so far.
    private var storage: [UInt8] = []
    /// The last `pendingBits` (< 8) bits written, not yet a whole byte.
    private var pending: UInt64 = 0
    private var pendingBits = 0

    init() {}

    /// Bits written so far.
    var bitCount: Int { storage.count * 8 + pendingBits }

    /// Bytes needed to hold the bits written.
    var byteCount: Int { storage.count + (pendingBits > 0 ? 1 : 0) }

    /// The bits written, the last byte padded with zero bits.
    var bytes: [UInt8] {
        guard pendingBits > 0 else { return storage }
        return storage + [UInt8(truncatingIfNeeded: pending << UInt64(8 - pendingBits))]
    }

    /// Writes the low `count` bits of `value` (0...64 bits).
    @inline(__always)
    mutating func write(_ value: UInt64, bits count: Int) {
        guard count > 0 else { return }
        if count > 56 {
            write(value >> 32, bits: count - 32)
            write(value & 0xFFFF_FFFF, bits: 32)
            return
        }
        // pendingBits < 8 and count ≤ 56: the word never overflows.
        pending = (pending << UInt64(count)) | (value & ((1 << UInt64(count)) - 1))
        pendingBits += count
        while pendingBits >= 8 {
            pendingBits -= 8
            storage.append(UInt8(truncatingIfNeeded: pending >> UInt64(pendingBits)))
        }
        pending &= (1 << UInt64(pendingBits)) - 1
    }

    mutating func write(bit: Bool) {
        write(bit ? 1 : 0, bits: 1)
    }
}
