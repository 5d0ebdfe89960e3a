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
