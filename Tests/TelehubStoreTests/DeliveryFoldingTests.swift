import Testing
import TelehubStore

@Suite struct DeliveryFoldingTests {
    @Test func foldsOnlyIntoANeverAttemptedDeliveryBehindAnother() {
        #expect(DeliveryFolding.target([]) == nil)
        // The only one owed may be on the wire: a new transition queues behind it.
        #expect(DeliveryFolding.target([OwedDelivery(id: 1, attempts: 0)]) == nil)
        #expect(DeliveryFolding.target([OwedDelivery(id: 1, attempts: 3), OwedDelivery(id: 2, attempts: 0)]) == 2)
        // A redelivered dead letter was attempted: never rewritten.
        #expect(DeliveryFolding.target([OwedDelivery(id: 1, attempts: 0), OwedDelivery(id: 2, attempts: 1)]) == nil)
    }
}

@Suite struct DeliveryFoldPlanTests {
    let pair = DeliveryFoldPlan.Pair(ruleID: 1, device: "d")

    func transition(_ event: Int64, _ pair: DeliveryFoldPlan.Pair? = nil) -> DeliveryFoldPlan.Transition {
        DeliveryFoldPlan.Transition(
            pair: pair ?? self.pair, eventID: event,
            delivery: NewDelivery(url: "http://r", secret: nil, body: "\(event)", idempotencyKey: "k\(event)", deadline: 9))
    }

    /// Nothing owed: the first two queue, every later one folds into the second.
    @Test func aBurstQueuesTwoAndFoldsTheRestIntoTheSecond() {
        let plan = DeliveryFoldPlan(owed: [:], transitions: (1...50).map { transition($0) })
        #expect(plan.inserts.map(\.latest.eventID) == [1, 50])
        #expect(plan.inserts.map(\.folded) == [0, 48])
        #expect(plan.inserts[1].latest.delivery.idempotencyKey == "k50")
        #expect(plan.updates.isEmpty)
    }

    /// Two owed, the second never attempted: everything folds into it.
    @Test func aWaitingStoredRowTakesEveryTransition() {
        let owed = [pair: [OwedDelivery(id: 7, attempts: 2), OwedDelivery(id: 8, attempts: 0)]]
        let plan = DeliveryFoldPlan(owed: owed, transitions: (1...3).map { transition($0) })
        #expect(plan.inserts.isEmpty)
        #expect(plan.updates[8]?.latest.eventID == 3 && plan.updates[8]?.folded == 3)
        #expect(plan.updates[7] == nil)
    }

    /// One owed (perhaps on the wire): one new row behind it, then folds into that one.
    /// A redelivered dead letter (attempted, last) is never folded into.
    @Test func theOldestIsNeverTouchedAndPairsStayApart() {
        let other = DeliveryFoldPlan.Pair(ruleID: 1, device: "e")
        let owed = [pair: [OwedDelivery(id: 7, attempts: 0)], other: [OwedDelivery(id: 3, attempts: 0), OwedDelivery(id: 4, attempts: 1)]]
        let plan = DeliveryFoldPlan(owed: owed, transitions: [transition(1), transition(2, other), transition(3), transition(4)])
        #expect(plan.inserts.map(\.latest.pair) == [pair, other])
        #expect(plan.inserts.map(\.latest.eventID) == [4, 2])
        #expect(plan.inserts.map(\.folded) == [2, 0])
        #expect(plan.updates.isEmpty)
    }
}
