import Foundation
import Testing
import TelehubCore
import TelehubStore
@testable import TelehubServer

@Suite struct WebhookRetryTests {
    @Test func statusesAreClassifiedAsTheContractSays() {
        for status in [200, 201, 204, 299] {
            #expect(WebhookRetry.outcome(status: status, attempts: 1, deadline: .max, now: 0) == .delivered)
        }
        for status in [408, 429, 500, 502, 503, 599] {
            guard case .retry(let at, let error) = WebhookRetry.outcome(status: status, attempts: 1, deadline: .max, now: 1000) else {
                Issue.record("\(status) should be retried")
                continue
            }
            #expect((1000...2000).contains(at))
            #expect(error == "HTTP \(status)")
        }
        for status in [301, 400, 401, 403, 404, 410, 422] {
            #expect(WebhookRetry.outcome(status: status, attempts: 1, deadline: .max, now: 0) == .dead(error: "HTTP \(status)"))
        }
    }

    @Test func connectionErrorsRetryUntilTheDeadline() {
        if case .retry = WebhookRetry.outcome(error: "connection refused", attempts: 3, deadline: 10_000, now: 0) {} else {
            Issue.record("a connection error before the deadline is retried")
        }
        // Past the deadline even the shortest wait is too late.
        guard case .dead(let error) = WebhookRetry.outcome(error: "timeout", attempts: 3, deadline: 0, now: 1) else {
            Issue.record("out of time is a dead letter")
            return
        }
        #expect(error.contains("timeout") && error.contains("3 attempts"))
    }

    @Test func backoffDoublesFromOneSecondToFiveMinutesWithFullJitter() {
        var generator = SystemRandomNumberGenerator()
        for (attempts, cap) in [(1, 1000), (2, 2000), (3, 4000), (9, 256_000), (10, 300_000), (60, 300_000)] as [(Int, Int64)] {
            let delays = (0..<400).map { _ in WebhookRetry.delay(afterAttempts: attempts, using: &generator) }
            #expect(delays.allSatisfy { (0...cap).contains($0) }, "attempt \(attempts)")
            #expect(delays.max()! > cap / 2, "jitter spreads over the whole range, attempt \(attempts)")
            #expect(delays.min()! < cap / 2, "attempt \(attempts)")
        }
    }

    /// `--webhook-retry-max-ms` caps the wait however many attempts failed.
    @Test func theLongestWaitIsTheOperatorsWhenSet() {
        var generator = SystemRandomNumberGenerator()
        let delays = (0..<400).map { _ in WebhookRetry.delay(afterAttempts: 30, maxDelayMs: 2000, using: &generator) }
        #expect(delays.max()! <= 2000 && delays.max()! > 1000)
        guard case .retry(let at, _) = WebhookRetry.outcome(status: 503, attempts: 30, deadline: .max, now: 0, maxDelayMs: 2000) else {
            Issue.record("503 is retried")
            return
        }
        #expect(at <= 2000)
    }

    @Test func receiverIsHostAndPort() {
        #expect(WebhookDeliverer.receiver("https://example.org/hook") == "example.org:443")
        #expect(WebhookDeliverer.receiver("http://127.0.0.1:8080/x") == "127.0.0.1:8080")
    }
}
