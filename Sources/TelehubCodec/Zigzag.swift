/// Signed to unsigned so that small magnitudes of either sign get small codes.
enum Zigzag {
    @inline(__always)
    static func encode(_ value: Int64) -> UInt64 {
        UInt64(bitPattern: (value << 1) ^ (value >> 63))
    }

    @inline(__always)
    static func decode(_ code: UInt64) -> Int64 {
        Int64(bitPattern: code >> 1) ^ -Int64(bitPattern: code & 1)
    }

    /// Bits needed to hold `code` (0 for 0).
    @inline(__always)
    static func width(_ code: UInt64) -> Int {
        64 - code.leadingZeroBitCount
    }
}
