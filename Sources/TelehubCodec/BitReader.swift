/// Reads bit fields written by `BitWriter`, refusing to read past the end.
struct BitReader {
    private let bytes: [UInt8]
    private let limit: Int
    private(set) var position = 0

    /// - Parameter bitCount: the bits that hold data; nil means every bit of `bytes`.
    init(_ bytes: [UInt8], bitCount: Int? = nil) {
        self.bytes = bytes
        self.limit = min(bitCount ?? bytes.count * 8, bytes.count * 8)
    }

    var remaining: Int { limit - position }

    /// Reads `count` bits (0...64) as the low bits of the result.
    ///
    /// Loads the 8 bytes at the read position as one big-endian word and
    /// shifts the field out: decoding reads a field or two a value, and a
    /// loop over bytes was a tenth of decoding's time (`telehub bench`).
    @inline(__always)
    mutating func read(bits count: Int) throws(ChunkError) -> UInt64 {
        guard count <= remaining else { throw .truncated }
        guard count > 0 else { return 0 }
        if count > 56 {
            let high = try read(bits: count - 32)
            return (high << 32) | (try read(bits: 32))
        }
        let byte = position >> 3
        let window: UInt64
        if byte + 8 <= bytes.count {
            window = bytes.withUnsafeBytes { UInt64(bigEndian: $0.loadUnaligned(fromByteOffset: byte, as: UInt64.self)) }
        } else {
            var padded: UInt64 = 0
            for index in byte..<(byte + 8) { padded = (padded << 8) | UInt64(index < bytes.count ? bytes[index] : 0) }
            window = padded
        }
        // At most 7 bits before the field and 56 in it: both fit the word.
        let shift = position & 7
        position += count
        return (window << UInt64(shift)) >> UInt64(64 - count)
    }

    mutating func readBit() throws(ChunkError) -> Bool {
        try read(bits: 1) == 1
    }

    /// The bits left are the zero padding of the last byte, nothing more.
    func requireOnlyPadding() throws(ChunkError) {
        guard remaining < 8 else { throw .trailingData }
        var copy = self
        guard try copy.read(bits: remaining) == 0 else { throw .trailingData }
    }
}
