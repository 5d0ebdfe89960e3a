import Testing
import TelehubCore
@testable import TelehubServer

@Suite struct StreamSequencerTests {
    @Test func inOrderEntriesPassAtOnce() {
        var sequencer = StreamSequencer<String>(after: 10)
        #expect(sequencer.accept(first: 11, last: 13, "a") == ["a"])
        #expect(sequencer.accept(first: 14, last: 14, "b") == ["b"])
        #expect(sequencer.delivered == 14 && !sequencer.hasGap)
    }

    @Test func repeatsAreDroppedWhetherOwnOrReadBack() {
        var sequencer = StreamSequencer<String>(after: 10)
        #expect(sequencer.accept(first: 11, last: 12, "own") == ["own"])
        #expect(sequencer.accept(first: 11, last: 12, "read back") == [])
        #expect(sequencer.accept(first: 5, last: 9, "before the start") == [])
        #expect(sequencer.delivered == 12)
    }

    /// Another hub committed 11–12 before this hub's 13; this hub hears of
    /// its own first: it waits, and both go out in order once 11–12 is read.
    @Test func anEntryPastAGapWaitsForTheOnesBefore() {
        var sequencer = StreamSequencer<String>(after: 10)
        #expect(sequencer.accept(first: 13, last: 15, "own") == [])
        #expect(sequencer.hasGap && sequencer.delivered == 10)
        #expect(sequencer.accept(first: 16, last: 16, "later") == [])
        #expect(sequencer.accept(first: 11, last: 12, "other") == ["other", "own", "later"])
        #expect(!sequencer.hasGap && sequencer.delivered == 16)
        // The log read from 10 also returns what already went out.
        #expect(sequencer.accept(first: 13, last: 15, "own") == [])
    }

    @Test func waitingIsBounded() {
        var sequencer = StreamSequencer<Int>(after: 0, capacity: 3)
        for first in stride(from: 10, to: 60, by: 10) { _ = sequencer.accept(first: Int64(first), last: Int64(first), first) }
        // Only the three nearest wait; the log still has the others.
        #expect(sequencer.accept(first: 1, last: 9, 0) == [0, 10])
        #expect(sequencer.accept(first: 11, last: 19, 1) == [1, 20])
        #expect(sequencer.accept(first: 21, last: 29, 2) == [2, 30])
        #expect(sequencer.accept(first: 31, last: 39, 3) == [3])
        #expect(!sequencer.hasGap)
    }
}

@Suite struct LoggedEventsTests {
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

        let session = LoggedEvents(
            presence: [PresenceEvent(device: "gh-1", online: true, ts: 5)], takeovers: [.init(device: "gh-1", instance: "b")])
        #expect(session.positions == 1)
        let back = try #require(LoggedEvents.decode(session.body, first: 9))
        #expect(back.presence == session.presence && back.takeovers == session.takeovers && back.readings.isEmpty)

        #expect(LoggedEvents.decode("not json", first: 1) == nil)
        #expect(LoggedEvents.decode(#"{"readings":[{"device":"x"}]}"#, first: 1) == nil)
        #expect(LoggedEvents.decode("{}", first: 1)?.readings.isEmpty == true)  // a kind this hub does not know yet
    }
}
