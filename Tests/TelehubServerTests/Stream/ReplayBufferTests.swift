import Testing
import TelehubCore
@testable import TelehubServer

@Suite struct ReplayBufferTests {
    func event(_ id: Int64) -> LiveEvent {
        .reading(id: id, device: "d", reading: Reading(ts: id, metrics: [MetricValue(name: "t", value: 1)]))
    }

    func buffer(_ ids: ClosedRange<Int64>, capacity: Int) -> ReplayBuffer {
        var buffer = ReplayBuffer(capacity: capacity)
        for id in ids { buffer.append(event(id)) }
        return buffer
    }

    @Test func aNewStreamStartsFresh() {
        #expect(buffer(1...5, capacity: 10).resume(after: nil, current: 5) == .fresh)
    }

    @Test func aStreamResumesWithWhatItMissed() {
        let replay = buffer(1...5, capacity: 10)
        #expect(replay.resume(after: 5, current: 5) == .replay([]))
        #expect(replay.resume(after: 3, current: 5) == .replay([event(4), event(5)]))
        #expect(replay.resume(after: 0, current: 5) == .replay((1...5).map(event)))  // just before the first kept
    }

    @Test func aPositionOutsideTheWindowIsAReset() {
        let wrapped = buffer(1...25, capacity: 10)  // keeps 16...25, in order, across the ring's seam
        #expect(wrapped.resume(after: 20, current: 25) == .replay((21...25).map(event)))
        #expect(wrapped.resume(after: 15, current: 25) == .replay((16...25).map(event)))
        #expect(wrapped.resume(after: 14, current: 25) == .reset)  // 15 was dropped: something is missing
        #expect(wrapped.resume(after: 99, current: 25) == .reset)  // ahead of this process: another run's id
        #expect(ReplayBuffer(capacity: 10).resume(after: 3, current: 7) == .reset)  // nothing kept
    }
}
