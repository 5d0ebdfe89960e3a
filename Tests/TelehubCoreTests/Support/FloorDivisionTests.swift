import Testing
import TelehubCore

@Suite struct FloorDivisionTests {
    @Test func roundsTowardNegativeInfinityOnBothSidesOfZero() {
        #expect(floorDiv(7, 2) == 3)
        #expect(floorDiv(-7, 2) == -4)
        #expect(floorDiv(-1, 1000) == -1)
        #expect(floorDiv(-1000, 1000) == -1)
        #expect(floorDiv(-1001, 1000) == -2)
        #expect(floorDiv(0, 86_400) == 0)
        #expect(ceilDiv(7, 2) == 4)
        #expect(ceilDiv(-7, 2) == -3)
    }

    /// The extremes a client can send as a timestamp must not trap.
    @Test func theExtremesDoNotOverflow() {
        #expect(floorDiv(Int64.min, 1_000_000) == -9_223_372_036_855)
        #expect(floorDiv(Int64.max, 1_000_000) == 9_223_372_036_854)
    }
}
