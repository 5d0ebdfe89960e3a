import Testing
@testable import TelehubServer

@Suite struct LoopWriteOrderTests {
    @Test func aWriteOnAQuietConnectionIsTheLoops() {
        var order = LoopWriteOrder()
        #expect(order.inbound(.head(eligible: true)) == .collect)
        #expect(order.inbound(.body) == .collect)
        #expect(order.inbound(.end) == .answerCollected)
        // Pipelined behind it: held until the loop's answer is out.
        #expect(order.inbound(.head(eligible: false)) == .hold)
        order.ownAnswered()
        #expect(order.inbound(.head(eligible: false)) == .forward)
        #expect(order.routerOwed == 1)
    }

    @Test func aWriteBehindARouterRequestGoesToTheRouterToo() {
        var order = LoopWriteOrder()
        #expect(order.inbound(.head(eligible: false)) == .forward)
        #expect(order.inbound(.end) == .forward)
        // The router still owes its answer: the write may not overtake it.
        #expect(order.inbound(.head(eligible: true)) == .forward)
        #expect(order.inbound(.body) == .forward)
        #expect(order.inbound(.end) == .forward)
        #expect(order.routerOwed == 2)
        order.routerAnswered()
        order.routerAnswered()
        #expect(order.inbound(.head(eligible: true)) == .collect)
    }

    @Test func aWriteHandedToTheRouterIsOwedFromThere() {
        var order = LoopWriteOrder()
        _ = order.inbound(.head(eligible: true))
        _ = order.inbound(.end)
        order.handedToRouter()
        #expect(order.routerOwed == 1)
        #expect(order.inbound(.head(eligible: true)) == .forward)
        _ = order.inbound(.end)
        order.routerAnswered()
        order.routerAnswered()
        #expect(order.inbound(.head(eligible: true)) == .collect)
    }

    @Test func answersAreNotCountedBelowZero() {
        var order = LoopWriteOrder()
        order.routerAnswered()
        #expect(order.routerOwed == 0)
        #expect(order.inbound(.head(eligible: true)) == .collect)
    }
}
