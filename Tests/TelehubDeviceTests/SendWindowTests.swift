import Foundation
import TelehubCore
import Testing
@testable import TelehubDevice

@Suite struct SendWindowTests {
    let now = ContinuousClock.now

    @Test func windowLimitsMessagesInFlightAndAcksAreCumulative() {
        var window = SendWindow(limit: 2)
        window.sent(1)
        window.sent(2)
        #expect(!window.hasRoom)
        window.acknowledged(upTo: 1)
        #expect(window.inFlight == [2])
        #expect(window.canSend(at: now))
    }

    @Test func retryableRefusalGoesBackInOrderAfterTheWait() {
        var window = SendWindow(limit: 8)
        for seq in Int64(1)...5 { window.sent(seq) }
        window.acknowledged(upTo: 2)
        window.refused(3, retryable: true, retryAfter: .milliseconds(400), now: now)
        #expect(window.inFlight.isEmpty)
        #expect(window.queued == [3, 4, 5])
        #expect(!window.canSend(at: now + .milliseconds(399)))
        #expect(window.canSend(at: now + .milliseconds(400)))
        // The hub holds 4 and 5 with the same error: nothing more to do for them.
        window.refused(4, retryable: true, retryAfter: .milliseconds(400), now: now)
        #expect(window.queued == [3, 4, 5])
        #expect(window.nextQueued() == 3)
    }

    @Test func permanentRefusalForgetsOnlyThatMessage() {
        var window = SendWindow(limit: 8)
        for seq in Int64(1)...3 { window.sent(seq) }
        window.refused(2, retryable: false, retryAfter: .zero, now: now)
        #expect(window.inFlight == [1, 3])
        #expect(window.canSend(at: now))
    }

    @Test func resendAfterReconnectStartsWithTheUnacknowledged() {
        var window = SendWindow(limit: 4, resend: [9, 7, 8])
        #expect(window.nextQueued() == 7)
        window.sent(7)
        window.acknowledged(upTo: 8)
        #expect(window.queued == [9])
    }
}
