import Testing
@testable import TelehubServer

@Suite struct PendingOutcomeTests {
    @Test func anOutcomeDeliveredBeforeTheWaitIsKept() async {
        let pending = PendingOutcome()
        pending.deliver(.committed(seq: 7))
        #expect(await pending.value == .committed(seq: 7))
    }

    @Test func aWaiterIsResumedByTheDelivery() async {
        let pending = PendingOutcome()
        async let waited = pending.value
        try? await Task.sleep(for: .milliseconds(20))
        pending.deliver(.committed(seq: nil))
        #expect(await waited == .committed(seq: nil))
    }

    @Test func onlyTheFirstDeliveryCounts() async {
        let pending = PendingOutcome()
        pending.deliver(.committed(seq: 1))
        pending.deliver(.committed(seq: 2))
        #expect(await pending.value == .committed(seq: 1))
    }
}
