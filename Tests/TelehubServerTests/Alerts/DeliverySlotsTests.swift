import Testing
@testable import TelehubServer

@Suite struct DeliverySlotsTests {
    @Test func slotsBoundEachReceiverAndTheTotal() {
        let slots = DeliverySlots(total: 3, perReceiver: 2)
        #expect(slots.take(1, receiver: "a:80"))
        #expect(slots.take(1, receiver: "a:80") == false)  // already in flight
        #expect(slots.take(2, receiver: "a:80"))
        #expect(slots.take(3, receiver: "a:80") == false)  // a's two are taken
        #expect(slots.take(4, receiver: "b:80"))
        #expect(slots.take(5, receiver: "c:80") == false)  // three in all
        slots.give(1, receiver: "a:80")
        #expect(slots.take(3, receiver: "a:80"))
    }

    /// The due list the loop holds was read before this attempt's outcome was
    /// recorded: until the next read, the delivery is not taken again (a
    /// receiver got a firing twice and the test waiting for two calls saw no resolved).
    @Test func aDeliveryIsNotTakenAgainFromAListReadBeforeItsOutcome() {
        let slots = DeliverySlots(total: 3, perReceiver: 2)
        slots.newRound()
        #expect(slots.take(1, receiver: "a:80"))
        slots.give(1, receiver: "a:80")
        #expect(slots.take(1, receiver: "a:80") == false)
        slots.newRound()
        #expect(slots.take(1, receiver: "a:80"))  // still due after a fresh read: a retry
    }

    /// Receivers whose attempts ran out of time hold half the slots at most,
    /// however many of them there are; the rest stay free for the others,
    /// and a receiver that answers in time is no longer held back.
    @Test func slowReceiversTogetherHoldHalfTheSlots() {
        let slots = DeliverySlots(total: 8, perReceiver: 2)
        for receiver in ["s1:80", "s2:80", "s3:80", "s4:80"] { slots.noteSlow(receiver) }
        var id: Int64 = 0
        var taken = 0
        for receiver in ["s1:80", "s2:80", "s3:80", "s4:80"] {
            for _ in 0..<2 {
                id += 1
                if slots.take(id, receiver: receiver) { taken += 1 }
            }
        }
        #expect(taken == 4)
        #expect(slots.slowHeldNow == 4)
        for n in 0..<4 { #expect(slots.take(100 + Int64(n), receiver: "fast\(n):80")) }
        #expect(slots.take(200, receiver: "fast9:80") == false)  // all eight in use
        slots.give(100, receiver: "fast0:80")
        #expect(slots.take(201, receiver: "s1:80") == false)  // a free slot, but not for the slow
        #expect(slots.take(201, receiver: "s3:80") == false)
        slots.noteAnswered("s1:80")  // s1 (holding two) answered in time: no longer counted as slow
        #expect(slots.slowHeldNow == 2)
        #expect(slots.take(201, receiver: "s3:80"))
    }

    @Test func aSingleSlotIsNeverKeptBackFromASlowReceiver() {
        let slots = DeliverySlots(total: 1, perReceiver: 1)
        slots.noteSlow("s:80")
        #expect(slots.take(1, receiver: "s:80"))
    }
}
