import TelehubCore
import Testing
@testable import TelehubCodec

@Suite struct MinuteBlockTests {
    static func hour(present: [Int], using generator: inout SplitMix) -> [MinuteAggregate] {
        present.map { minute in
            let values = (0..<Int.random(in: 1...60, using: &generator)).map { _ in
                Double(Int.random(in: 2000...2300, using: &generator)) / 100
            }
            return MinuteAggregate(
                minute: minute, sum: values.reduce(0, +), min: values.min()!, max: values.max()!, count: Int64(values.count))
        }
    }

    @Test func aggregatesRoundTripBitForBit() throws {
        var generator = SplitMix(seed: 5)
        for round in 0..<300 {
            let present = (0..<60).filter { _ in round % 3 == 0 || Bool.random(using: &generator) }
            guard !present.isEmpty else { continue }
            var minutes = Self.hour(present: present, using: &generator)
            if round % 7 == 0 { minutes[0].sum = Double(bitPattern: generator.next()) }  // any double, NaN included
            let decoded = try MinuteBlock.decode(MinuteBlock.encode(minutes))
            #expect(decoded.map(\.minute) == minutes.map(\.minute))
            #expect(decoded.map(\.count) == minutes.map(\.count))
            for field in [\MinuteAggregate.sum, \.min, \.max] {
                #expect(decoded.map { $0[keyPath: field].bitPattern } == minutes.map { $0[keyPath: field].bitPattern })
            }
        }
    }

    @Test func aFullHourOfSensorMinutesIsSmall() {
        var generator = SplitMix(seed: 6)
        let minutes = (0..<60).map { minute in
            MinuteAggregate(minute: minute, sum: Double(126_000 + Int.random(in: -300...300, using: &generator)) / 100,
                            min: 20.5, max: Double(2150 + Int.random(in: 0...20, using: &generator)) / 100, count: 60)
        }
        // Four doubles and a count a minute would be 33 bytes; compressed, a few.
        #expect(MinuteBlock.encode(minutes).count < 60 * 6)
    }

    @Test func damageIsAnError() {
        var generator = SplitMix(seed: 7)
        let bytes = MinuteBlock.encode(Self.hour(present: [0, 5, 59], using: &generator))
        for bit in 0..<(bytes.count * 8) {
            var damaged = bytes
            damaged[bit / 8] ^= 1 << UInt8(bit % 8)
            #expect(throws: ChunkError.self) { try MinuteBlock.decode(damaged) }
        }
        for length in 0..<bytes.count {
            #expect(throws: ChunkError.self) { try MinuteBlock.decode(Array(bytes[..<length])) }
        }
    }
}
