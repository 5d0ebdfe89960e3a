import Testing
import TelehubCore
@testable import TelehubServer

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
