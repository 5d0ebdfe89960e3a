import Foundation
import TelehubCore
import Testing
@testable import TelehubCodec

/// decode(encode(x)) == x bit for bit, for whatever the store may append.
@Suite struct ChunkRoundTripTests {
    /// A generated series and how it was made, for failure messages.
    struct Case: CustomStringConvertible {
        var timestamps: [Int64]
        var values: [Double]
        var description: String { "\(timestamps.count) values, first \(Array(zip(timestamps, values).prefix(4)))" }
    }

    static func timestamps(_ count: Int, style: Int, using generator: inout SplitMix) -> [Int64] {
        var ts = Int64.random(in: 0...(1 << 53), using: &generator)
        return (0..<count).map { _ in
            defer {
                switch style {
                case 0: ts += 1000  // steady 1 Hz
                case 1: ts += 1000 + Int64.random(in: -30...30, using: &generator)  // jitter
                case 2: ts += Int64.random(in: 0...2, using: &generator)  // repeats and bursts
                case 3: ts = Int64.random(in: 0...(1 << 53), using: &generator)  // any order
                default: ts = Int64(bitPattern: generator.next())  // anything, wrapping gaps
                }
            }
            return ts
        }
    }

    static func values(_ count: Int, style: Int, using generator: inout SplitMix) -> [Double] {
        var level = Double.random(in: -50...50, using: &generator)
        return (0..<count).map { index in
            switch style {
            case 0:  // a sensor: slow wave plus noise, two decimals
                let wave = level + 5 * sin(Double(index) / 600)
                return ((wave + Double.random(in: -0.3...0.3, using: &generator)) * 100).rounded() / 100
            case 1:  // a counter
                level += Double(Int.random(in: 0...3, using: &generator))
                return level.rounded()
            case 2:  // any double at all, NaN, infinities, -0 and subnormals included
                return Double(bitPattern: generator.next())
            case 3:  // decimals with a stray float now and then
                return Int.random(in: 0..<20, using: &generator) == 0
                    ? Double.random(in: -1...1, using: &generator) : Double(Int.random(in: -999...999, using: &generator)) / 10
            default:  // special values among decimals
                return [0.0, -0.0, 1e-300, 1e300, 0.1, 123456.789, .ulpOfOne, -Double.leastNonzeroMagnitude][index % 8]
            }
        }
    }

    static func build(_ timestamps: [Int64], _ values: [Double]) -> ChunkBuilder {
        var builder = ChunkBuilder()
        for (ts, value) in zip(timestamps, values) { builder.append(ts: ts, value: value) }
        return builder
    }

    @Test func everyEncodingDecodesToTheSameBits() throws {
        var generator = SplitMix(seed: 2026)
        for round in 0..<600 {
            let count = [1, 2, 31, 32, 33, 64, 65, 500, 1500][round % 9]
            let input = DecodedChunk(
                timestamps: Self.timestamps(count, style: round % 5, using: &generator),
                values: Self.values(count, style: (round / 5) % 5, using: &generator))
            let builder = Self.build(input.timestamps, input.values)
            #expect(builder.count == count)
            for bytes in [builder.encoded(), builder.sealed()] {
                let output = try ChunkDecoder.decode(bytes)
                #expect(output.isIdentical(to: input), "round \(round): \(Case(timestamps: input.timestamps, values: input.values))")
            }
            #expect(builder.encodedSize == builder.encoded().count)
        }
    }

    @Test func aBuilderRebuiltFromItsChunkGoesOnAppending() throws {
        var generator = SplitMix(seed: 9)
        let timestamps = Self.timestamps(300, style: 1, using: &generator)
        let values = Self.values(300, style: 3, using: &generator)
        var builder = ChunkBuilder(try ChunkDecoder.decode(Self.build(Array(timestamps[..<100]), Array(values[..<100])).encoded()))
        for index in 100..<300 { builder.append(ts: timestamps[index], value: values[index]) }
        #expect(try ChunkDecoder.decode(builder.encoded()).isIdentical(to: DecodedChunk(timestamps: timestamps, values: values)))
        #expect(builder.firstTimestamp == timestamps.first && builder.lastTimestamp == timestamps.last)
    }

    @Test func sensorDecimalsTakeAFewBitsAndRandomFloatsStayNearTheirSize() throws {
        var generator = SplitMix(seed: 1)
        let count = 3600
        let timestamps = Self.timestamps(count, style: 0, using: &generator)
        let sensor = Self.build(timestamps, Self.values(count, style: 0, using: &generator)).sealed()
        // Noise of ±0.3 at 0.01 is about 6 bits a value; a steady clock is 1 bit.
        #expect(Double(sensor.count) / Double(count) < 1.1)
        let random = Self.build(timestamps, (0..<count).map { _ in Double.random(in: -1e6...1e6, using: &generator) }).sealed()
        // XOR keeps sign and exponent bits that repeat; never far above 8 bytes.
        #expect(Double(random.count) / Double(count) < 8.5)
    }

    @Test func theSealedChunkIsTheSmallerEncoding() throws {
        let timestamps = (0..<200).map { Int64($0) * 1000 }
        // Decimals with many digits: XOR can beat them; the chunk keeps the smaller.
        let digits = (0..<200).map { Double(1_000_000_000 + $0 * 7_777_777) / 1e9 }
        let builder = Self.build(timestamps, digits)
        let sealed = builder.sealed()
        #expect(sealed.count <= builder.encoded().count)
        var xor = XORValueEncoder()
        for value in digits { xor.append(value) }
        var stamps = TimestampEncoder()
        for ts in timestamps { stamps.append(ts) }
        let xorChunk = ChunkFormat.assemble(encoding: .xor, scale: 0, count: 200, timestamps: stamps.bits, values: xor.bits)
        #expect(sealed.count <= xorChunk.count)
        // A constant decimal series: decimal deltas of zero beat XOR's one bit a value.
        let constant = Self.build(timestamps, Array(repeating: 21.5, count: 200)).sealed()
        #expect(constant[1] == ChunkFormat.Encoding.decimal.rawValue)
    }

    /// Doubles with nothing in common cost XOR more than their 64 bits; such a chunk seals as plain values.
    @Test func randomDoublesSealAsPlainValues() throws {
        var generator = SplitMix(seed: 12)
        let values = (0..<1000).map { _ in Double(bitPattern: generator.next()) }
        let builder = Self.build((0..<1000).map { Int64($0) * 1000 }, values)
        let sealed = builder.sealed()
        #expect(sealed[1] == ChunkFormat.Encoding.raw.rawValue)
        #expect(sealed.count < builder.encoded().count && sealed.count <= 1000 * 8 + 200)
        #expect(try ChunkDecoder.decode(sealed).values.map(\.bitPattern) == values.map(\.bitPattern))
    }

    @Test func aValueThatIsNotAShortDecimalSwitchesTheChunkToXOR() throws {
        var builder = ChunkBuilder()
        builder.append(ts: 1, value: 21.5)
        builder.append(ts: 2, value: 21.37)  // a finer scale: the chunk is re-encoded at scale 2
        #expect(builder.encoded()[1] == ChunkFormat.Encoding.decimal.rawValue && builder.encoded()[2] == 2)
        builder.append(ts: 3, value: 1.0 / 3.0)
        #expect(builder.encoded()[1] == ChunkFormat.Encoding.xor.rawValue)
        #expect(try ChunkDecoder.decode(builder.encoded()).values == [21.5, 21.37, 1.0 / 3.0])
    }
}
