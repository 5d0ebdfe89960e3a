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
