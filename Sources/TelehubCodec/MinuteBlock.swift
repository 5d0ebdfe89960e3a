/// The aggregates of one minute of a series: what the minute rollup keeps.
public struct MinuteAggregate: Sendable, Equatable {
    /// The minute within its hour, 0..<60.
    public var minute: Int
    public var sum: Double
    public var min: Double
    public var max: Double
    public var count: Int64

    public init(minute: Int, sum: Double, min: Double, max: Double, count: Int64) {
        self.minute = minute
        self.sum = sum
        self.min = min
        self.max = max
        self.count = count
    }
}

/// The minute aggregates of one hour of one series in one small blob: a
/// row per minute would cost more than the compressed values it sums up.
///
/// | bytes | field |
/// | --- | --- |
/// | 1 | format version (1) |
/// | 8 | minutes present, bit m for minute m, little-endian |
/// | … | four columns (count, sum, min, max), each: encoding, scale, varint length, stream |
/// | 4 | checksum of everything before it |
public enum MinuteBlock {
    static let version: UInt8 = 1

    /// - Precondition: 1 to 60 aggregates with distinct minutes in 0..<60, in minute order.
    public static func encode(_ minutes: [MinuteAggregate]) -> [UInt8] {
        // Unreachable from any input: the store passes the minutes of a dictionary
        // keyed by `RollupTable.minuteIndex` (0..<60, so distinct and at most 60),
        // and `RollupTable.save` deletes the row instead when there are none.
        precondition(!minutes.isEmpty && minutes.count <= 60, "one to sixty minutes")
        var present: UInt64 = 0
        for item in minutes {
            precondition((0..<60).contains(item.minute) && present & (1 << UInt64(item.minute)) == 0, "distinct minutes")
            present |= 1 << UInt64(item.minute)
        }
        var bytes: [UInt8] = [version]
        withUnsafeBytes(of: present.littleEndian) { bytes.append(contentsOf: $0) }
        let columns = [minutes.map { Double($0.count) }, minutes.map(\.sum), minutes.map(\.min), minutes.map(\.max)]
        for column in columns {
            let encoded = ValueColumn.encode(column)
            bytes.append(encoded.encoding.rawValue)
            bytes.append(UInt8(encoded.scale))
            Varint.append(UInt64(encoded.bits.byteCount), to: &bytes)
            bytes.append(contentsOf: encoded.bits.bytes)
        }
        let check = Checksum.of(bytes[...])
        withUnsafeBytes(of: check.littleEndian) { bytes.append(contentsOf: $0) }
        return bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(ChunkError) -> [MinuteAggregate] {
        let body = try ChunkFormat.verifiedBody(bytes)
        guard body >= 9 else { throw .truncated }
        guard bytes[0] == version else { throw .unknownFormat(bytes[0]) }
        var present: UInt64 = 0
        for index in 0..<8 { present |= UInt64(bytes[1 + index]) << UInt64(8 * index) }
        guard present != 0, present >> 60 == 0 else { throw .invalidHeader("minutes present") }
        let count = present.nonzeroBitCount
        var offset = 9
        var columns: [[Double]] = []
        for _ in 0..<4 {
            guard offset + 2 <= body else { throw .truncated }
            guard let encoding = ChunkFormat.Encoding(rawValue: bytes[offset]) else { throw .unknownFormat(bytes[offset]) }
            let scale = Int(bytes[offset + 1])
            guard encoding == .decimal ? scale <= DecimalScale.maximum : scale == 0 else { throw .invalidHeader("scale \(scale)") }
            offset += 2
            let length = try Varint.read(bytes, at: &offset, end: body)
            guard length <= UInt64(body - offset) else { throw .truncated }
            let end = offset + Int(length)
            columns.append(try ValueColumn.decode(BitReader(Array(bytes[offset..<end])), encoding: encoding, scale: scale, count: count))
            offset = end
        }
        guard offset == body else { throw .trailingData }
        var minutes: [MinuteAggregate] = []
        minutes.reserveCapacity(count)
        var index = 0
        for minute in 0..<60 where present & (1 << UInt64(minute)) != 0 {
            let counted = columns[0][index]
            guard counted >= 1, counted < 0x1p53, counted == counted.rounded() else { throw .invalidHeader("minute count") }
            minutes.append(MinuteAggregate(
                minute: minute, sum: columns[1][index], min: columns[2][index], max: columns[3][index], count: Int64(counted)))
            index += 1
        }
        return minutes
    }
}
