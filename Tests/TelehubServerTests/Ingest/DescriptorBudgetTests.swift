import Testing
@testable import TelehubServer

@Suite struct DescriptorBudgetTests {
    @Test func theConnectionPastTheCapacityFindsNoRoomUntilOneCloses() {
        let budget = DescriptorBudget(capacity: 2)
        // A connection counts itself before the gate asks.
        budget.opened()
        #expect(budget.hasRoom)
        budget.opened()
        #expect(budget.hasRoom)
        budget.opened()
        #expect(!budget.hasRoom)
        budget.closed()
        #expect(budget.hasRoom)
    }

    @Test func capacityKeepsDescriptorsForTheRestOfTheHub() {
        #expect(OpenFileLimit.Limits(soft: 20_000, hard: 20_000).connectionCapacity == 19_900)
        #expect(OpenFileLimit.Limits(soft: 150, hard: 150).connectionCapacity == 50)
        #expect(OpenFileLimit.Limits(soft: 64, hard: 1024).connectionCapacity == 16)  // never below a floor
        let limits = OpenFileLimit.current()
        #expect(limits.soft <= limits.hard)
    }
}
