import Testing
import TelehubCore

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
