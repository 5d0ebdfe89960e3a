import NIOWebSocket
import Testing
@testable import TelehubServer

@Suite struct RateLimiterTests {
    @Test func burstThenRetryAfterThenAdmitted() throws {
        let limiter = RateLimiter(readingsPerSecond: 10, burst: 20)
        let start = ContinuousClock.now
        #expect(limiter.admit(deviceID: 1, readings: 20, seq: 1, now: start) == nil)
        let refused = try #require(limiter.admit(deviceID: 1, readings: 5, seq: 2, now: start))
        #expect(refused.code == .rateLimited)
        #expect(refused.code.isRetryable)
        #expect(refused.seq == 2)
        #expect(refused.retryAfterMs == 500)
        // Another device has its own bucket.
        #expect(limiter.admit(deviceID: 2, readings: 20, seq: 1, now: start) == nil)
        // After the advertised wait the same message passes.
        #expect(limiter.admit(deviceID: 1, readings: 5, seq: 2, now: start + .milliseconds(500)) == nil)
    }

    @Test func zeroRateMeansNoLimit() {
        let limiter = RateLimiter(readingsPerSecond: 0, burst: 1)
        #expect((0..<100).allSatisfy { limiter.admit(deviceID: 1, readings: 1000, seq: Int64($0 + 1)) == nil })
    }

    @Test func aMessageLargerThanTheBurstCanStillPass() {
        let limiter = RateLimiter(readingsPerSecond: 10, burst: 5)
        #expect(limiter.admit(deviceID: 1, readings: 50, seq: 1, now: .now) == nil)
    }
}

@Suite struct SessionRegistryTests {
    final class Endings: @unchecked Sendable {
        // Only touched from the test's own thread through the registry's synchronous callbacks.
        var values: [Int: [SessionRegistry.Ending]] = [:]
    }

    @Test func newerSessionReplacesOlderAndPresenceFollows() {
        let registry = SessionRegistry()
        let endings = Endings()
        let first = registry.register(kind: .device("a"), tokenID: 1) { endings.values[1, default: []].append($0) }
        #expect(first.cameOnline)
        let second = registry.register(kind: .device("a"), tokenID: 1) { endings.values[2, default: []].append($0) }
        #expect(!second.cameOnline)
        #expect(endings.values[1] == [.replaced])
        #expect(endings.values[2] == nil)
        #expect(registry.unregister(first.id) == false)  // the device is still online
        #expect(registry.onlineDevices() == ["a"])
        #expect(registry.unregister(second.id) == true)
        #expect(registry.onlineDevices().isEmpty)
    }

    @Test func revocationEndsOnlyThatTokensSessions() {
        let registry = SessionRegistry()
        let endings = Endings()
        _ = registry.register(kind: .device("a"), tokenID: 7) { endings.values[1, default: []].append($0) }
        _ = registry.register(kind: .stream, tokenID: 7) { endings.values[2, default: []].append($0) }
        _ = registry.register(kind: .device("b"), tokenID: 8) { endings.values[3, default: []].append($0) }
        #expect(registry.liveTokenIDs() == [7, 8])
        registry.endSessions(of: [7])
        #expect(endings.values[1] == [.tokenEnded])
        #expect(endings.values[2] == [.tokenEnded])
        #expect(endings.values[3] == nil)
    }

    @Test func shutdownDrainsEveryoneOnceAndLateComers() {
        let registry = SessionRegistry()
        let endings = Endings()
        _ = registry.register(kind: .device("a"), tokenID: 1) { endings.values[1, default: []].append($0) }
        registry.shutDown()
        registry.shutDown()
        #expect(endings.values[1] == [.shutdown])
        _ = registry.register(kind: .device("b"), tokenID: 1) { endings.values[2, default: []].append($0) }
        #expect(endings.values[2] == [.shutdown])
        #expect(SessionRegistry.Ending.replaced.closeCode == WebSocketErrorCode(codeNumber: 4000))
        #expect(SessionRegistry.Ending.shutdown.closeCode == .goingAway)
        #expect(SessionRegistry.Ending.tokenEnded.closeCode == .policyViolation)
    }
}
