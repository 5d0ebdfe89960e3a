/// The values of one chunk, in the order they were appended.
public struct DecodedChunk: Sendable, Equatable {
    public var timestamps: [Int64]
    public var values: [Double]

    public init(timestamps: [Int64] = [], values: [Double] = []) {
        self.timestamps = timestamps
        self.values = values
    }

    public var count: Int { timestamps.count }

    /// Equal bit for bit (`==` on doubles calls -0 and 0 equal and NaN unequal).
    public func isIdentical(to other: DecodedChunk) -> Bool {
        timestamps == other.timestamps && values.map(\.bitPattern) == other.values.map(\.bitPattern)
    }
}

public enum ChunkDecoder {
    /// Decodes a chunk written by `ChunkBuilder`.
    /// - Throws: `ChunkError` for any bytes that are not such a chunk, after
    ///   checking the checksum first: damaged bytes never decode silently.
    public static func decode(_ bytes: [UInt8]) throws(ChunkError) -> DecodedChunk {
        let body = try ChunkFormat.verifiedBody(bytes)
        guard body >= 3 else { throw .truncated }
        guard bytes[0] == ChunkFormat.version else { throw .unknownFormat(bytes[0]) }
        guard let encoding = ChunkFormat.Encoding(rawValue: bytes[1]) else { throw .unknownFormat(bytes[1]) }
        let scale = Int(bytes[2])
        guard encoding == .decimal ? scale <= DecimalScale.maximum : scale == 0 else {
            throw .invalidHeader("scale \(scale)")
        }
        var offset = 3
        let count = try Varint.read(bytes, at: &offset, end: body)
        let timestampBytes = try Varint.read(bytes, at: &offset, end: body)
        let streams = body - offset
        // Every value after the first costs at least one bit in each stream.
        guard count >= 1, count <= UInt64(streams) * 8 + 1 else { throw .invalidHeader("count \(count)") }
        guard timestampBytes <= UInt64(streams) else { throw .invalidHeader("timestamp stream length") }
        let split = offset + Int(timestampBytes)
        var timestamps = TimestampDecoder(BitReader(Array(bytes[offset..<split])))
        let valueReader = BitReader(Array(bytes[split..<body]))
        var decoded = DecodedChunk()
        decoded.timestamps.reserveCapacity(Int(count))
        for _ in 0..<count { decoded.timestamps.append(try timestamps.next()) }
        try timestamps.remainingReader.requireOnlyPadding()
        decoded.values = try ValueColumn.decode(valueReader, encoding: encoding, scale: scale, count: Int(count))
        return decoded
    }
}
