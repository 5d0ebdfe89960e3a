/// Values as the XOR of each with the one before (Gorilla, VLDB 2015): the
/// encoding for any float, bit for bit, including those that are not short
/// decimals. Slowly changing values share sign, exponent and high mantissa
/// bits, so only the bits that changed are written.
struct XORValueEncoder: Sendable, Equatable {
    private(set) var bits = BitWriter()
    private(set) var count = 0
    private var last: UInt64 = 0
    /// Leading and trailing zero bits of the last stored XOR: later XORs that
    /// fit inside it are written without a new window.
    private var window: (leading: Int, trailing: Int)?

    mutating func append(_ value: Double) {
        let pattern = value.bitPattern
        defer {
            count += 1
            last = pattern
        }
        guard count > 0 else {
            bits.write(pattern, bits: 64)
            return
        }
        let xor = pattern ^ last
        guard xor != 0 else {
            bits.write(bit: false)
            return
        }
        let leading = min(xor.leadingZeroBitCount, 31)
        let trailing = xor.trailingZeroBitCount
        if let window, leading >= window.leading, trailing >= window.trailing {
            bits.write(0b10, bits: 2)
            bits.write(xor >> UInt64(window.trailing), bits: 64 - window.leading - window.trailing)
            return
        }
        let length = 64 - leading - trailing
        bits.write(0b11, bits: 2)
        bits.write(UInt64(leading), bits: 5)
        bits.write(UInt64(length - 1), bits: 6)
        bits.write(xor >> UInt64(trailing), bits: length)
        window = (leading, trailing)
    }

    static func == (lhs: XORValueEncoder, rhs: XORValueEncoder) -> Bool {
        lhs.bits == rhs.bits && lhs.count == rhs.count && lhs.last == rhs.last
            && lhs.window?.leading == rhs.window?.leading && lhs.window?.trailing == rhs.window?.trailing
    }
}

struct XORValueDecoder {
    private var reader: BitReader
    private var last: UInt64 = 0
    private var window = (leading: 0, trailing: 0)
    private var started = false

    init(_ reader: BitReader) {
        self.reader = reader
    }

    var remainingReader: BitReader { reader }

    mutating func next() throws(ChunkError) -> Double {
        guard started else {
            started = true
            last = try reader.read(bits: 64)
            return Double(bitPattern: last)
        }
        guard try reader.readBit() else { return Double(bitPattern: last) }
        if try reader.readBit() {
            let leading = Int(try reader.read(bits: 5))
            let length = Int(try reader.read(bits: 6)) + 1
            guard leading + length <= 64 else { throw .invalidHeader("XOR window past 64 bits") }
            window = (leading, 64 - leading - length)
        }
        let length = 64 - window.leading - window.trailing
        guard length > 0 else { throw .invalidHeader("XOR window before any") }
        let xor = try reader.read(bits: length) << UInt64(window.trailing)
        last ^= xor
        return Double(bitPattern: last)
    }
}
