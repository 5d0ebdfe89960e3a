import Foundation
import Testing
import TelehubCore
@testable import TelehubServer

/// The shared log's bodies: the readings are written and read by hand, and
/// must mean exactly what `JSONDecoder` reads from the same text.
@Suite struct LoggedEventsTests {
    static let readings: [(device: String, reading: Reading)] = [
        ("greenhouse-1", Reading(ts: 1_732_200_000_000, metrics: [
            MetricValue(name: "temperature", value: 21.37), MetricValue(name: "humidity", value: 41.25),
        ])),
        ("cold.room_2", Reading(ts: 1_732_200_000_001, metrics: [
            MetricValue(name: "t", value: -18.5), MetricValue(name: "door", value: 1), MetricValue(name: "_big", value: 1.5e300),
            MetricValue(name: "tiny", value: -2.5e-300), MetricValue(name: "whole", value: 123_456_789_012),
        ])),
        ("A", Reading(ts: 0, metrics: [])),
    ]

    /// What the hub reads back: metrics sorted by name, as `Reading`'s decoding gives them.
    static func sorted(_ readings: [(device: String, reading: Reading)]) -> [String] {
        readings.map { item in
            "\(item.device) \(item.reading.ts) " + item.reading.metrics.sorted { $0.name < $1.name }.map { "\($0.name)=\($0.value)" }.joined(separator: ",")
        }
    }

    @Test func eventsRoundTripThroughTheLogBody() throws {
        let readings: [(device: String, reading: Reading)] = [
            ("gh-1", Reading(ts: 1_732_200_000_123, metrics: [MetricValue(name: "t", value: 21.5), MetricValue(name: "h", value: -0.25)])),
            ("gh-2", Reading(ts: 1_732_200_000_124, metrics: [MetricValue(name: "on", value: 1)])),
        ]
        let events = LoggedEvents(readings: readings)
        #expect(events.positions == 2)
        #expect(events.body.hasPrefix(#"{"readings":[{"#))
        let decoded = try #require(LoggedEvents.decode(events.body, first: 7))
        #expect(decoded.first == 7)
        #expect(decoded.readings.map(\.device) == ["gh-1", "gh-2"])
        #expect(decoded.readings.map(\.reading.ts) == [1_732_200_000_123, 1_732_200_000_124])
        #expect(Set(decoded.readings[0].reading.metrics.map(\.name)) == ["t", "h"])
        #expect(decoded.readings[0].reading.metrics.first { $0.name == "h" }?.value == -0.25)
        #expect(decoded.presence.isEmpty && decoded.takeovers.isEmpty)

        let takeover = LoggedEvents(
            presence: [PresenceEvent(device: "gh-1", online: true, ts: 5)], takeovers: [.init(device: "gh-1", instance: "b")])
        #expect(takeover.positions == 1)
        let back = try #require(LoggedEvents.decode(takeover.body, first: 9))
        #expect(back.presence == takeover.presence && back.takeovers == takeover.takeovers && back.readings.isEmpty)

        #expect(LoggedEvents.decode("not json", first: 1) == nil)
        #expect(LoggedEvents.decode(#"{"readings":[{"device":"x"}]}"#, first: 1) == nil)
        #expect(LoggedEvents.decode("{}", first: 1)?.readings.isEmpty == true)  // a kind this hub does not know yet
    }

    @Test func readingsComeBackAsWrittenAndAsJSONDecoderReadsThem() throws {
        var body = LoggedEvents(readings: Self.readings).body
        let fast = try #require(body.withUTF8 { LoggedEvents.decodeWritten($0, first: 7) })  // the hand-read path, no fallback
        let foundation = try #require(LoggedEvents.decodeAnyForm(body, first: 7))
        #expect(Self.sorted(fast.readings) == Self.sorted(Self.readings))
        #expect(Self.sorted(fast.readings) == Self.sorted(foundation.readings))
        #expect(fast.first == 7 && fast.presence.isEmpty && fast.takeovers.isEmpty && fast.alerts.isEmpty)
    }

    @Test func otherKindsBesideReadingsSurvive() throws {
        var events = LoggedEvents(readings: Array(Self.readings.prefix(1)))
        events.presence = [PresenceEvent(device: "greenhouse-1", online: true, ts: 5)]
        events.takeovers = [.init(device: "greenhouse-1", instance: "hub-b")]
        var body = events.body
        let decoded = try #require(body.withUTF8 { LoggedEvents.decodeWritten($0, first: 1) })
        #expect(Self.sorted(decoded.readings) == Self.sorted(Array(Self.readings.prefix(1))))
        #expect(decoded.presence == events.presence && decoded.takeovers == events.takeovers)

        let alone = try #require(LoggedEvents.decode(LoggedEvents(presence: events.presence).body, first: 2))
        #expect(alone.readings.isEmpty && alone.presence == events.presence)
    }

    /// Entries written another way (spacing, key order, escapes: an older hub,
    /// a hand-made row) still decode, through `JSONDecoder`.
    @Test func anyOtherFormFallsBackToJSONDecoder() throws {
        let spaced = #"{ "presence": [], "readings": [ {"ts": 5, "metrics": {"b": 2, "a": 1e3}, "device": "d\u002d1"} ] }"#
        var text = spaced
        #expect(text.withUTF8 { LoggedEvents.decodeWritten($0, first: 3) } == nil)
        let decoded = try #require(LoggedEvents.decode(spaced, first: 3))
        #expect(Self.sorted(decoded.readings) == ["d-1 5 a=1000.0,b=2.0"])
    }

    @Test func textThatIsNotABodyIsRefusedNotGuessed() {
        for text in [
            #"{"readings":[{"device":"d","ts":1,"metrics":{"v":1}}"#,  // cut short
            #"{"readings":[{"device":"d","ts":99999999999999999999,"metrics":{"v":1}}]}"#,  // ts past Int64
            #"{"readings":[{"device":"d","ts":1,"metrics":{"v":null}}]}"#,
            #"{"readings":[{"device":"d","ts":1,"metrics":{"v":1}}]}trailing"#,
            "", "[]", "not json",
        ] {
            #expect(LoggedEvents.decode(text, first: 1) == nil, "\(text)")
        }
    }
}
