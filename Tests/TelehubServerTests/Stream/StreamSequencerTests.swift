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
