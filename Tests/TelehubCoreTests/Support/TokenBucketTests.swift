import Testing
import TelehubCore

@Suite struct TokenBucketTests {
    let start = ContinuousClock.now

    @Test func takesWhatIsThereAndSaysHowLongTheRestTakes() {
        var bucket = TokenBucket(rate: 10, burst: 20, now: start)
        #expect(bucket.take(20, at: start) == nil)
        #expect(bucket.take(5, at: start) == .milliseconds(500))
        #expect(bucket.take(5, at: start + .milliseconds(499)) == .milliseconds(1))  // 4.99 there: 0.01 short, 1 ms
        #expect(bucket.take(5, at: start + .milliseconds(500)) == nil)
    }

    @Test func savesAtMostTheBurstAndAskingMoreNeedsAFullBucket() {
        var bucket = TokenBucket(rate: 1000, burst: 5, now: start)
        #expect(bucket.available(at: start + .seconds(60)) == 5)
        #expect(bucket.take(50, at: start + .seconds(60)) == nil)  // a message larger than the burst still passes
        #expect(bucket.available(at: start + .seconds(60)) == 0)
    }

    @Test func spendingAheadIsWaitedOff() {
        var pace = TokenBucket(rate: 100, burst: 10, now: start)
        pace.spend(30, at: start)  // 20 in debt
        #expect(pace.available(at: start) == -20)
        #expect(pace.instant(whenAvailable: 1) == start + .milliseconds(211))
        #expect(pace.available(at: start + .milliseconds(300)) == 10)
    }

    @Test func aClockThatGoesBackAddsNothing() {
        var bucket = TokenBucket(rate: 10, burst: 10, now: start)
        _ = bucket.take(10, at: start)
        #expect(bucket.available(at: start - .seconds(5)) == 0)
    }
}
