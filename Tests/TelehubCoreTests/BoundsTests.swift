import Testing
import TelehubCore

@Suite struct FailedAuthTableTests {
    @Test func refusesAfterTheLimitUntilTheWindowPasses() {
        var table = FailedAuthTable(limit: 3, windowMs: 10_000)
        for _ in 0..<2 { table.recordFailure("10.0.0.1", now: 1000) }
        #expect(table.retryAfterMs("10.0.0.1", now: 1000) == nil)
        table.recordFailure("10.0.0.1", now: 2000)
        #expect(table.retryAfterMs("10.0.0.1", now: 2000) == 9000)
        #expect(table.retryAfterMs("10.0.0.2", now: 2000) == nil)
        #expect(table.retryAfterMs("10.0.0.1", now: 10_999) == 1)
        #expect(table.retryAfterMs("10.0.0.1", now: 11_000) == nil)
        // A new window starts with the next failure.
        table.recordFailure("10.0.0.1", now: 11_000)
        #expect(table.retryAfterMs("10.0.0.1", now: 11_000) == nil)
    }

    @Test func zeroTurnsTheLimitOff() {
        var table = FailedAuthTable(limit: 0, windowMs: 10_000)
        for _ in 0..<100 { table.recordFailure("a", now: 1) }
        #expect(table.retryAfterMs("a", now: 1) == nil)
        #expect(table.count == 0)
    }

    @Test func theTableIsBoundedWhateverTheNumberOfAddresses() {
        var table = FailedAuthTable(limit: 2, windowMs: 10_000, capacity: 100)
        for index in 0..<10_000 { table.recordFailure("addr-\(index)", now: 5) }
        #expect(table.count <= 100)
        // Expired windows make room first.
        var aging = FailedAuthTable(limit: 1, windowMs: 10, capacity: 2)
        aging.recordFailure("old", now: 0)
        aging.recordFailure("older", now: 0)
        aging.recordFailure("new", now: 100)
        #expect(aging.count == 1)
        #expect(aging.retryAfterMs("new", now: 100) == 10)
    }
}

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
}

@Suite struct ReadQueryTests {
    func history(_ parameters: [String: String], now: Int64 = 1_732_200_000_000) throws(QueryError) -> HistoryQuery {
        try HistoryQuery(parameter: { parameters[$0].map { Substring($0) } }, now: now)
    }

    @Test func defaultsAreTheLastHour() throws {
        let query = try history([:])
        #expect(query.to == 1_732_200_000_000)
        #expect(query.from == 1_732_200_000_000 - 3_600_000)
        #expect(query.points == 500)
        #expect(try history([:], now: 10).from == 0)
    }

    @Test(arguments: [
        ["to": "-9223372036854775808"], ["from": "-1"], ["to": "9007199254740992"], ["to": "9223372036854775807"],
        ["to": "123456789012345678901234567890"], ["from": "5", "to": "4"], ["points": "0"], ["points": "-3"],
        ["points": "2.5"], ["from": " 1"], ["from": "0x10"],
    ])
    func outOfBounds(_ parameters: [String: String]) {
        #expect(throws: QueryError.self) { try history(parameters) }
    }

    @Test func boundsAreInclusiveAndPointsAreCapped() throws {
        let query = try history(["from": "0", "to": "9007199254740991", "points": "99999999999"])
        #expect(query.from == 0 && query.to == IngestLimits.maxTime && query.points == 10_000)
    }

    @Test func exportChecksNamesTimesAndFormat() throws {
        func export(_ parameters: [String: String]) throws(QueryError) -> ExportQuery {
            try ExportQuery(parameter: { parameters[$0].map { Substring($0) } })
        }
        let query = try export(["device": "a,b", "metric": "t", "from": "1", "to": "2", "format": "ndjson"])
        #expect(query.devices == ["a", "b"] && query.metrics == ["t"] && query.format == .ndjson)
        #expect(throws: QueryError.self) { try export(["device": "bad name"]) }
        #expect(throws: QueryError.self) { try export(["from": "3", "to": "2"]) }
        #expect(throws: QueryError.self) { try export(["format": "xml"]) }
        #expect(throws: QueryError.self) { try export(["device": Array(repeating: "d", count: 1001).joined(separator: ",")]) }
    }

    @Test func streamPositions() {
        #expect(StreamPosition.parse("81234") == 81234)
        #expect(StreamPosition.parse(" 7 ") == 7)
        #expect(StreamPosition.parse("-1") == nil)
        #expect(StreamPosition.parse("99999999999999999999") == nil)
        #expect(StreamPosition.parse(String(repeating: "1", count: 10_000)) == nil)
        #expect(StreamPosition.parse("") == nil)
    }
}
