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
