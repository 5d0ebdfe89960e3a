import Testing
import TelehubCore

@Suite struct SeriesLimitTests {
    func message(_ names: [String]) -> IngestMessage {
        IngestMessage(seq: 1, readings: [Reading(ts: 1, metrics: names.map { MetricValue(name: $0, value: 1) })])
    }

    @Test func newMetricsPastTheLimitAreRefusedKnownOnesPass() {
        var limit = SeriesLimit(maxSeries: 3)
        limit.learn(7, ["a", "b"])
        #expect(limit.admit(7, message(["a", "c"])) == nil)
        let refusal = limit.admit(7, message(["d"]))
        #expect(refusal?.contains("at most 3") == true)
        #expect(limit.admit(7, message(["a", "b", "c"])) == nil)
        // A refused message teaches nothing: its metrics still count as new.
        #expect(limit.admit(7, message(["d"])) != nil)
        // Another device has its own budget.
        #expect(limit.admit(8, message(["x", "y", "z"])) == nil)
    }

    @Test func forgettingReloadsFromTheStore() {
        var limit = SeriesLimit(maxSeries: 1)
        limit.learn(1, ["a"])
        #expect(limit.knows(1))
        limit.forgetAll()
        #expect(!limit.knows(1))
    }

    @Test func everyReadingOfABatchCountsThoughMostRepeatTheNamesBeforeThem() {
        func batch(_ readings: [[String]]) -> IngestMessage {
            IngestMessage(seq: 1, readings: readings.enumerated().map { index, names in
                Reading(ts: Int64(index), metrics: names.map { MetricValue(name: $0, value: 1) })
            })
        }
        var limit = SeriesLimit(maxSeries: 4)
        limit.learn(1, ["a", "b"])
        // Repeats of known names, then one reading with a new name in the middle, then repeats again.
        #expect(limit.admit(1, batch([["a", "b"], ["a", "b"], ["a", "c"], ["a", "b"], ["a", "b"]])) == nil)
        let refused = limit.admit(1, batch([["a", "b"], ["a", "b"], ["d", "e"], ["d", "e"], ["a", "b"]]))
        #expect(refused?.contains("5 metrics (2 new)") == true)
        // The same names in another order are checked, not taken for a repeat.
        #expect(limit.admit(1, batch([["a", "b"], ["b", "d"]])) == nil)
        #expect(limit.admit(1, batch([["e"]])) != nil)
    }
}
