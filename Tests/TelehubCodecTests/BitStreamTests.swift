import TelehubCore
import Testing
@testable import TelehubCodec

@Suite struct BitStreamTests {
    @Test func fieldsOfAnyWidthReadBackInOrder() throws {
        var generator = SplitMix(seed: 11)
        var writer = BitWriter()
        var fields: [(UInt64, Int)] = []
        for _ in 0..<5000 {
            let width = Int.random(in: 0...64, using: &generator)
            let value = width == 64 ? generator.next() : generator.next() & ((1 << UInt64(width)) - 1)
            writer.write(value, bits: width)
            fields.append((value, width))
        }
        #expect(writer.bitCount == fields.reduce(0) { $0 + $1.1 })
        #expect(writer.byteCount == writer.bytes.count)
        var reader = BitReader(writer.bytes, bitCount: writer.bitCount)
        for (value, width) in fields { #expect(try reader.read(bits: width) == value) }
        #expect(reader.remaining == 0)
        #expect(throws: ChunkError.truncated) { try reader.read(bits: 1) }
    }

    @Test func paddingMustBeZero() throws {
        var writer = BitWriter()
        writer.write(1, bits: 3)
        var reader = BitReader(writer.bytes)
        _ = try reader.read(bits: 3)
        try reader.requireOnlyPadding()
        var damaged = BitReader([writer.bytes[0] | 1])
        _ = try damaged.read(bits: 3)
        #expect(throws: ChunkError.trailingData) { try damaged.requireOnlyPadding() }
        #expect(throws: ChunkError.trailingData) { try BitReader([0, 0]).requireOnlyPadding() }
    }

    @Test func zigzagAndVarintsRoundTripAtTheExtremes() throws {
        for value: Int64 in [0, -1, 1, 63, -64, .max, .min, 1 << 53] {
            #expect(Zigzag.decode(Zigzag.encode(value)) == value)
        }
        #expect(Zigzag.encode(-1) == 1 && Zigzag.encode(1) == 2 && Zigzag.width(0) == 0)
        for value: UInt64 in [0, 1, 127, 128, 300, 1 << 35, .max] {
            var bytes: [UInt8] = []
            Varint.append(value, to: &bytes)
            #expect(bytes.count == Varint.size(value))
            var offset = 0
            #expect(try Varint.read(bytes, at: &offset, end: bytes.count) == value && offset == bytes.count)
        }
    }

    @Test func decimalScaleIsExactOrNothing() {
        #expect(DecimalScale.smallest(for: 21.37) == 2)
        #expect(DecimalScale.smallest(for: 20) == 0)
        #expect(DecimalScale.smallest(for: 0.1) == 1)
        #expect(DecimalScale.smallest(for: 1.0 / 3.0) == nil)
        #expect(DecimalScale.smallest(for: -0.0) == nil)  // its sign would be lost
        #expect(DecimalScale.smallest(for: .nan) == nil && DecimalScale.smallest(for: .infinity) == nil)
        #expect(DecimalScale.smallest(for: 1e300) == nil)
        #expect(DecimalScale.integer(21.37, scale: 2) == 2137)
        #expect(DecimalScale.value(2137, scale: 2) == 21.37)
    }
}
