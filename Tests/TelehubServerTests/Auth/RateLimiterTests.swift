import NIOWebSocket
import Testing
@testable import TelehubServer
import TelehubCore

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
