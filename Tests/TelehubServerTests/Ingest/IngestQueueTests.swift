import Testing
import TelehubCore
@testable import TelehubServer

@Suite struct IngestQueueTests {
    @Test func aFlushTakesAtMostFlushValuesAndAtLeastOneMessage() {
        var queue = IngestQueue<String>(flushValues: 10, capacity: 100)
        queue.append("a", weight: 4)
        queue.append("b", weight: 5)
        queue.append("c", weight: 2)
        #expect(queue.values == 11 && queue.isFlushDue)
        #expect(queue.takeChunk() == ["a", "b"])  // 9; c would make 11
        #expect(queue.values == 2 && !queue.isFlushDue)
        queue.append("huge", weight: 50)
        #expect(queue.takeChunk() == ["c"])
        #expect(queue.takeChunk() == ["huge"])  // larger than a flush: alone
        #expect(queue.isEmpty && queue.values == 0)
    }

    @Test func roomIsMeasuredInValuesAgainstTheCapacity() {
        var queue = IngestQueue<Int>(flushValues: 5, capacity: 8)
        queue.append(1, weight: 7)
        #expect(queue.hasRoom)
        queue.append(2, weight: 1)
        #expect(!queue.hasRoom)  // at capacity: the next submitter waits
        _ = queue.takeChunk()
        #expect(queue.hasRoom)
    }

    @Test func theCapacityIsNeverBelowAFlushAndWeightsAtLeastOne() {
        let queue = IngestQueue<Int>(flushValues: 500, capacity: 10)
        #expect(queue.capacity == 500)
        var empty = IngestQueue<Int>(flushValues: 1, capacity: 1)
        empty.append(0, weight: 0)  // a duplicate with no readings still counts, so it is flushed and acknowledged
        #expect(empty.values == 1 && empty.isFlushDue)
    }

    @Test func removingADevicesMessagesKeepsTheOthersInOrder() {
        var queue = IngestQueue<(device: Int, seq: Int)>(flushValues: 100, capacity: 100)
        for (device, seq) in [(1, 1), (2, 1), (1, 2), (3, 1), (2, 2)] { queue.append((device, seq), weight: 3) }
        let removed = queue.removeAll { $0.device == 2 }
        #expect(removed.map(\.seq) == [1, 2])
        #expect(queue.values == 9)
        #expect(queue.takeChunk().map { "\($0.device).\($0.seq)" } == ["1.1", "1.2", "3.1"])
    }
}

@Suite struct RetryHoldsTests {
    let start = ContinuousClock.now

    @Test func laterMessagesAreHeldUntilTheRefusedOneComesAgain() {
        var holds = RetryHolds(lifetime: .seconds(60))
        let refused = IngestRejection(.rateLimited, "slow down", seq: 5, retryAfterMs: 400)
        holds.hold(deviceID: 1, seq: 5, rejection: refused, now: start)
        let held = holds.refusal(deviceID: 1, seq: 6, now: start + .milliseconds(100))
        #expect(held?.code == .rateLimited && held?.seq == 6 && held?.retryAfterMs == 300)
        #expect(held?.message.contains("send again from seq 5") == true)
        #expect(holds.refusal(deviceID: 2, seq: 6, now: start) == nil)  // other devices go on
        #expect(holds.refusal(deviceID: 1, seq: 5, now: start + .milliseconds(500)) == nil)  // the resend releases it
        #expect(holds.refusal(deviceID: 1, seq: 6, now: start + .milliseconds(500)) == nil)
    }

    @Test func anEarlierRefusalMovesTheHoldBackAndALaterOneDoesNot() {
        var holds = RetryHolds()
        holds.hold(deviceID: 1, seq: 9, rejection: IngestRejection(.overloaded, "busy", retryAfterMs: 0), now: start)
        holds.hold(deviceID: 1, seq: 12, rejection: IngestRejection(.overloaded, "busy", retryAfterMs: 0), now: start)
        #expect(holds.refusal(deviceID: 1, seq: 10, now: start) != nil)
        holds.hold(deviceID: 1, seq: 7, rejection: IngestRejection(.overloaded, "busy", retryAfterMs: 0), now: start)
        #expect(holds.refusal(deviceID: 1, seq: 8, now: start)?.message.contains("from seq 7") == true)
    }

    @Test func aHoldExpiresAndANewConnectionClearsIt() {
        var holds = RetryHolds(lifetime: .seconds(10))
        holds.hold(deviceID: 1, seq: 3, rejection: IngestRejection(.overloaded, "busy", retryAfterMs: 1000), now: start)
        #expect(holds.refusal(deviceID: 1, seq: 4, now: start + .seconds(5)) != nil)
        #expect(holds.refusal(deviceID: 1, seq: 4, now: start + .seconds(12)) == nil)  // the device gave seq 3 up
        holds.hold(deviceID: 2, seq: 3, rejection: IngestRejection(.overloaded, "busy", retryAfterMs: 1000), now: start)
        holds.clear(deviceID: 2)
        #expect(holds.refusal(deviceID: 2, seq: 4, now: start) == nil)
    }
}
