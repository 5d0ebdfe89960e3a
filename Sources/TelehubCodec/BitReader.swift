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
    mutating func read(bits count: Int) throws(ChunkError) -> UInt64 {
        guard count <= remaining else { throw .truncated }
        var result: UInt64 = 0
        var wanted = count
        while wanted > 0 {
            let byte = bytes[position >> 3]
            let used = position & 7
            let available = 8 - used
            let take = min(available, wanted)
            let field = (UInt64(byte) >> UInt64(available - take)) & ((1 << UInt64(take)) - 1)
            result = (result << UInt64(take)) | field
            wanted -= take
            position += take
        }
        return result
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
