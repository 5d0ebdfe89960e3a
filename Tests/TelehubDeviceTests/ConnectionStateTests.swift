import TelehubCore
import Testing
@testable import TelehubDevice

@Suite struct ConnectionStateTests {
    private let start = ContinuousClock.now
    private let closed = ConnectionFailure(.closed, "the hub closed the connection")

    private func hello(lastSeq: Int64 = 7, maxBatch: Int = 1000) -> ServerMessage.Hello {
        ServerMessage.Hello(
            device: "d1", lastSeq: lastSeq,
            limits: IngestLimits(maxBatch: maxBatch, maxMessageBytes: 1 << 20), heartbeatSeconds: 20)
    }

    private func state(batchSize: Int = 500) -> ConnectionState {
        ConnectionState(
            backoff: Backoff(base: .milliseconds(100), cap: .seconds(4), stableAfter: .seconds(30)), batchSize: batchSize)
    }

    @Test func anAttemptGoesFromConnectingThroughHandshakeToStreaming() {
        var link = state()
        let attempt = link.begin(at: start)
        #expect(link.phase == .connecting(attempt: attempt))
        #expect(link.isCurrent(attempt) && !link.isStreaming)
        let upgraded = link.upgraded(attempt)
        #expect(upgraded)
        #expect(link.phase == .handshaking(attempt: attempt))
        let maxBatch = link.greeted(hello(lastSeq: 7), attempt: attempt)
        #expect(maxBatch == 500)
        #expect(link.phase == .streaming(attempt: attempt, lastSeq: 7, maxBatch: 500))
        #expect(link.isStreaming && link.isCurrent(attempt))
    }

    @Test func theHubsMaxBatchLowersTheBatchSize() {
        var link = state(batchSize: 500)
        let attempt = link.begin(at: start)
        let lowered = link.greeted(hello(maxBatch: 50), attempt: attempt)
        #expect(lowered == 50)
        var other = state(batchSize: 500)
        let next = other.begin(at: start)
        let least = other.greeted(hello(maxBatch: 0), attempt: next)
        #expect(least == 1)  // never a batch of nothing
    }

    /// An attempt abandoned at the handshake deadline keeps running in the
    /// WebSocket client; when it finally connects it must not take over.
    @Test func anAbandonedAttemptFindsItselfOutdated() {
        var link = state()
        let abandoned = link.begin(at: start)
        link.end(at: start + .seconds(10))
        var generator = SplitMix(seed: 1)
        let handshakeTimeout = ConnectionFailure(.handshakeTimeout, "no hello")
        let wait = link.backOff(handshakeTimeout, at: start + .seconds(10), using: &generator)
        #expect(wait != nil)
        let current = link.begin(at: start + .seconds(11))
        #expect(current != abandoned)
        #expect(!link.isCurrent(abandoned))
        let lateUpgrade = link.upgraded(abandoned)
        let lateHello = link.greeted(hello(), attempt: abandoned)
        #expect(!lateUpgrade && lateHello == nil)
        #expect(link.phase == .connecting(attempt: current))  // the late callbacks changed nothing
        let upgraded = link.upgraded(current)
        #expect(upgraded)
    }

    @Test func endingIsOnceAndOutdatesTheAttempt() {
        var link = state()
        let attempt = link.begin(at: start)
        _ = link.greeted(hello(), attempt: attempt)
        link.end(at: start + .seconds(1))
        #expect(link.phase == .ended && !link.isCurrent(attempt) && !link.isStreaming)
        let backoff = link.backoff
        link.end(at: start + .seconds(60))  // a second report of the same end changes nothing
        #expect(link.backoff == backoff)
    }

    @Test func failuresGrowTheWaitAndAStableConnectionResetsIt() {
        var link = state()
        var generator = SplitMix(seed: 7)
        var now = start
        var bounds: [Duration] = []
        for _ in 0..<4 {
            let attempt = link.begin(at: now)
            #expect(link.isCurrent(attempt))
            now += .milliseconds(50)
            link.end(at: now)
            bounds.append(link.backoff.bound)
            let delay = link.backOff(closed, at: now, using: &generator)
            #expect(delay != nil && delay! <= bounds.last!)
            #expect(link.phase == .backingOff(until: now + delay!))
            now += delay!
        }
        #expect(bounds == [100, 200, 400, 800].map { .milliseconds($0) })
        #expect(link.reconnects == 4 && link.lastFailure == closed)
        // A connection that stayed up past `stableAfter` starts from the base again.
        let attempt = link.begin(at: now)
        _ = link.greeted(hello(), attempt: attempt)
        link.end(at: now + .seconds(31))
        #expect(link.backoff.bound == .milliseconds(100))
    }

    @Test func aPermanentRefusalWaitsNearTheCap() {
        var generator = SplitMix(seed: 3)
        for _ in 0..<200 {
            var link = state()
            _ = link.begin(at: start)
            link.end(at: start)
            let refused = ConnectionFailure(.unauthorized, "401")
            let delay = link.backOff(refused, at: start, using: &generator)
            #expect(delay.map { $0 >= .seconds(2) && $0 <= .seconds(4) } == true)
            #expect(link.lastFailure == refused)
        }
    }

    @Test func nothingBacksOffBeforeAnEndOrAfterAStop() {
        var link = state()
        var generator = SplitMix(seed: 5)
        let attempt = link.begin(at: start)
        let early = link.backOff(closed, at: start, using: &generator)
        #expect(early == nil)  // still connecting
        #expect(link.isCurrent(attempt) && link.reconnects == 0)
        link.stop()
        #expect(link.phase == .stopped && !link.isCurrent(attempt))
        link.end(at: start)
        let afterStop = link.backOff(closed, at: start, using: &generator)
        #expect(afterStop == nil && link.reconnects == 0)
    }
}
