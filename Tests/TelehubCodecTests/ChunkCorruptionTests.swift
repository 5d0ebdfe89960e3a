import TelehubCore
import Testing
@testable import TelehubCodec

/// Damaged chunk bytes give an error, never a crash and never other values.
@Suite struct ChunkCorruptionTests {
    private static func chunk(count: Int, seed: UInt64) -> [UInt8] {
        var generator = SplitMix(seed: seed)
        var builder = ChunkBuilder()
        for index in 0..<count {
            builder.append(ts: Int64(index) * 1000, value: Double(Int.random(in: 2000...2100, using: &generator)) / 100)
        }
        return builder.sealed()
    }

    @Test func everySingleBitFlipIsDetected() {
        for bytes in [Self.chunk(count: 1, seed: 1), Self.chunk(count: 100, seed: 2)] {
            for bit in 0..<(bytes.count * 8) {
                var damaged = bytes
                damaged[bit / 8] ^= 1 << UInt8(bit % 8)
                #expect(throws: ChunkError.self) { try ChunkDecoder.decode(damaged) }
            }
        }
    }

    @Test func everyTruncationAndExtensionIsDetected() {
        let bytes = Self.chunk(count: 50, seed: 3)
        for length in 0..<bytes.count {
            #expect(throws: ChunkError.self) { try ChunkDecoder.decode(Array(bytes[..<length])) }
        }
        #expect(throws: ChunkError.self) { try ChunkDecoder.decode(bytes + [0]) }
    }

    @Test func randomBytesNeverDecode() {
        var generator = SplitMix(seed: 4)
        for _ in 0..<20_000 {
            let bytes = (0..<Int.random(in: 0...64, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            #expect(throws: ChunkError.self) { try ChunkDecoder.decode(bytes) }
        }
    }

    /// Chunks whose checksum is right but whose fields are not (as a fuzzer
    /// or a future bug could make them): still an error, not a trap.
    @Test func wellSummedNonsenseIsRefused() {
        func summed(_ body: [UInt8]) -> [UInt8] {
            let check = Checksum.of(body[...])
            return body + withUnsafeBytes(of: check.littleEndian) { Array($0) }
        }
        let cases: [([UInt8], ChunkError)] = [
            ([2, 0, 0, 1, 0], .unknownFormat(2)),
            ([1, 9, 0, 1, 0], .unknownFormat(9)),
            ([1, 1, 16, 1, 0], .invalidHeader("scale 16")),
            ([1, 0, 3, 1, 0], .invalidHeader("scale 3")),
            ([1, 0, 0, 0, 0], .invalidHeader("count 0")),
            ([1, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0], .invalidHeader("count 4294967295")),
            ([1, 0, 0, 1, 9, 0, 0], .invalidHeader("timestamp stream length")),
            ([1, 0, 0, 1, 1, 0], .truncated),
            ([1, 0, 0] + Array(repeating: 0xFF, count: 11), .invalidHeader("varint too long")),
        ]
        for (body, error) in cases {
            #expect(throws: error) { try ChunkDecoder.decode(summed(body)) }
        }
    }
}
