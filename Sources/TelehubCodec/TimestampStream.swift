/// Timestamps as delta-of-delta (Gorilla, VLDB 2015): a series sampled at a
/// steady rate costs one bit a timestamp, jitter of a few milliseconds about
/// nine. Arithmetic wraps, so any `Int64` sequence (unsorted, repeated,
/// extreme gaps) decodes to itself.
struct TimestampEncoder: Sendable, Equatable {
    private(set) var bits = BitWriter()
    private(set) var count = 0
    private(set) var last: Int64 = 0
    private var lastDelta: Int64 = 0

    /// Prefix and payload width of each class of delta-of-delta, smallest first.
    static let classes: [(prefix: UInt64, prefixBits: Int, payloadBits: Int)] = [
        (0b10, 2, 7), (0b110, 3, 12), (0b1110, 4, 20), (0b11110, 5, 32), (0b11111, 5, 64),
    ]

    mutating func append(_ ts: Int64) {
        defer {
            count += 1
            last = ts
        }
        guard count > 0 else {
            bits.write(UInt64(bitPattern: ts), bits: 64)
            return
        }
        let delta = ts &- last
        let code = Zigzag.encode(delta &- lastDelta)
        lastDelta = delta
        if code == 0 {
            bits.write(bit: false)
            return
        }
        let width = Zigzag.width(code)
        for item in Self.classes where width <= item.payloadBits {
            bits.write(item.prefix, bits: item.prefixBits)
            bits.write(code, bits: item.payloadBits)
            return
        }
    }
}

struct TimestampDecoder {
    private var reader: BitReader
    private var last: Int64 = 0
    private var lastDelta: Int64 = 0
    private var started = false

    init(_ reader: BitReader) {
        self.reader = reader
    }

    var remainingReader: BitReader { reader }

    mutating func next() throws(ChunkError) -> Int64 {
        guard started else {
            started = true
            last = Int64(bitPattern: try reader.read(bits: 64))
            return last
        }
        var code: UInt64 = 0
        if try reader.readBit() {
            var ones = 1
            while ones < 5, try reader.readBit() { ones += 1 }
            let payload = TimestampEncoder.classes[ones - 1].payloadBits
            code = try reader.read(bits: payload)
        }
        lastDelta = lastDelta &+ Zigzag.decode(code)
        last = last &+ lastDelta
        return last
    }
}
