/// Values as integers at one decimal scale, stored as the difference from
/// the value before (zigzag), bit-packed in blocks of 32 that each carry
/// their own width: a block of sensor noise costs its own few bits, and one
/// spike widens only its block.
struct DecimalValueEncoder: Sendable, Equatable {
    static let blockSize = 32
    static let widthBits = 7

    let scale: Int
    /// The first value and every full block.
    private(set) var committed = BitWriter()
    private(set) var count = 0
    private var last: Int64 = 0
    /// Codes of the block being filled; written out when it is full.
    private var pending: [UInt64] = []
    private var pendingWidth = 0

    init(scale: Int) {
        self.scale = scale
        pending.reserveCapacity(Self.blockSize)
    }

    /// Appends `value`, or returns false when it is not exact at this scale.
    mutating func append(_ value: Double) -> Bool {
        guard let integer = DecimalScale.integer(value, scale: scale) else { return false }
        defer {
            count += 1
            last = integer
        }
        guard count > 0 else {
            committed.write(Zigzag.encode(integer), bits: 64)
            return true
        }
        let code = Zigzag.encode(integer &- last)
        pending.append(code)
        pendingWidth = max(pendingWidth, Zigzag.width(code))
        if pending.count == Self.blockSize {
            Self.writeBlock(pending, width: pendingWidth, into: &committed)
            pending.removeAll(keepingCapacity: true)
            pendingWidth = 0
        }
        return true
    }

    /// Bits of the stream as it would be written now.
    var bitCount: Int {
        committed.bitCount + (pending.isEmpty ? 0 : Self.widthBits + pending.count * pendingWidth)
    }

    /// The whole stream, the block being filled written with its own width.
    var bits: BitWriter {
        var writer = committed
        if !pending.isEmpty { Self.writeBlock(pending, width: pendingWidth, into: &writer) }
        return writer
    }

    private static func writeBlock(_ codes: [UInt64], width: Int, into writer: inout BitWriter) {
        writer.write(UInt64(width), bits: widthBits)
        for code in codes { writer.write(code, bits: width) }
    }
}

struct DecimalValueDecoder {
    private var reader: BitReader
    private let scale: Int
    private var decoded = 0
    private var last: Int64 = 0
    private var width = 0

    init(_ reader: BitReader, scale: Int) {
        self.reader = reader
        self.scale = scale
    }

    var remainingReader: BitReader { reader }

    mutating func next() throws(ChunkError) -> Double {
        defer { decoded += 1 }
        if decoded == 0 {
            last = Zigzag.decode(try reader.read(bits: 64))
        } else {
            if (decoded - 1) % DecimalValueEncoder.blockSize == 0 {
                width = Int(try reader.read(bits: DecimalValueEncoder.widthBits))
                guard width <= 64 else { throw .invalidHeader("block width \(width)") }
            }
            last = last &+ Zigzag.decode(try reader.read(bits: width))
        }
        // The encoder only writes integers that are exact as doubles.
        guard last.magnitude < 1 << 53 else { throw .invalidHeader("decimal out of range") }
        return DecimalScale.value(last, scale: scale)
    }
}
