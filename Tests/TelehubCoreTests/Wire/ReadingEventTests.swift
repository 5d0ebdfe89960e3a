import Foundation
import Testing
import TelehubCore

@Suite struct ReadingEventTests {
    /// The hand-written event JSON reads back as the same event JSONEncoder
    /// would write, for awkward names and values too.
    @Test func handWrittenJSONIsTheEncodersEvent() throws {
        var random = SplitMix(seed: 5)
        let names = ["temperature", "a\"b", "back\\slash", "tab\there", "ünïcode", "x"]
        for _ in 0..<300 {
            let metrics = names.shuffled(using: &random).prefix(Int.random(in: 0...names.count, using: &random))
                .map { MetricValue(name: $0, value: Double.random(in: -1e100...1e100, using: &random) / 10e90) }
            let device = names.randomElement(using: &random) ?? "d"
            let ts = Int64.random(in: 0...IngestLimits.maxTime, using: &random)
            let json = ReadingEvent.json(device: device, ts: ts, metrics: metrics)
            let decoded = try JSONDecoder().decode(ReadingEvent.self, from: Data(json.utf8))
            let expected = ReadingEvent(device: device, ts: ts, metrics: Dictionary(uniqueKeysWithValues: metrics.map { ($0.name, $0.value) }))
            #expect(decoded == expected)
        }
    }
}
