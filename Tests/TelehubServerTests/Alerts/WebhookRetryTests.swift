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

    @Test func slotsBoundEachReceiverAndTheTotal() {
        let slots = DeliverySlots(total: 3, perReceiver: 2)
        #expect(slots.take(1, receiver: "a:80"))
        #expect(slots.take(1, receiver: "a:80") == false)  // already in flight
        #expect(slots.take(2, receiver: "a:80"))
        #expect(slots.take(3, receiver: "a:80") == false)  // a's two are taken
        #expect(slots.take(4, receiver: "b:80"))
        #expect(slots.take(5, receiver: "c:80") == false)  // three in all
        slots.give(1, receiver: "a:80")
        #expect(slots.take(3, receiver: "a:80"))
    }

    /// The due list the loop holds was read before this attempt's outcome was
    /// recorded: until the next read, the delivery is not taken again (a
    /// receiver got a firing twice and the test waiting for two calls saw no resolved).
    @Test func aDeliveryIsNotTakenAgainFromAListReadBeforeItsOutcome() {
        let slots = DeliverySlots(total: 3, perReceiver: 2)
        slots.newRound()
        #expect(slots.take(1, receiver: "a:80"))
        slots.give(1, receiver: "a:80")
        #expect(slots.take(1, receiver: "a:80") == false)
        slots.newRound()
        #expect(slots.take(1, receiver: "a:80"))  // still due after a fresh read: a retry
    }

    /// Receivers whose attempts ran out of time hold half the slots at most,
    /// however many of them there are; the rest stay free for the others,
    /// and a receiver that answers in time is no longer held back.
    @Test func slowReceiversTogetherHoldHalfTheSlots() {
        let slots = DeliverySlots(total: 8, perReceiver: 2)
        for receiver in ["s1:80", "s2:80", "s3:80", "s4:80"] { slots.noteSlow(receiver) }
        var id: Int64 = 0
        var taken = 0
        for receiver in ["s1:80", "s2:80", "s3:80", "s4:80"] {
            for _ in 0..<2 {
                id += 1
                if slots.take(id, receiver: receiver) { taken += 1 }
            }
        }
        #expect(taken == 4)
        #expect(slots.slowHeldNow == 4)
        for n in 0..<4 { #expect(slots.take(100 + Int64(n), receiver: "fast\(n):80")) }
        #expect(slots.take(200, receiver: "fast9:80") == false)  // all eight in use
        slots.give(100, receiver: "fast0:80")
        #expect(slots.take(201, receiver: "s1:80") == false)  // a free slot, but not for the slow
        #expect(slots.take(201, receiver: "s3:80") == false)
        slots.noteAnswered("s1:80")  // s1 (holding two) answered in time: no longer counted as slow
        #expect(slots.slowHeldNow == 2)
        #expect(slots.take(201, receiver: "s3:80"))
    }

    @Test func aSingleSlotIsNeverKeptBackFromASlowReceiver() {
        let slots = DeliverySlots(total: 1, perReceiver: 1)
        slots.noteSlow("s:80")
        #expect(slots.take(1, receiver: "s:80"))
    }

    /// v1.1's signature covers the body; v1.2's covers "<timestamp>.<body>",
    /// so a receiver can refuse an old request replayed.
    @Test func signaturesCoverTheBodyAndTheTimestamp() {
        let signatures = Dictionary(uniqueKeysWithValues: WebhookRequest.signatures(body: "{}", timestamp: "1700000000", secret: "k"))
        // printf '{}' | openssl dgst -sha256 -hmac k; printf '1700000000.{}' | openssl dgst -sha256 -hmac k
        #expect(signatures["X-Telehub-Signature"] == "sha256=" + Self.hmacHex(key: "k", message: "{}"))
        #expect(signatures["X-Telehub-Signature-v2"] == "sha256=" + Self.hmacHex(key: "k", message: "1700000000.{}"))
        #expect(signatures["X-Telehub-Signature"] != signatures["X-Telehub-Signature-v2"])
        #expect(WebhookRequest.signatures(body: "{}", timestamp: "1", secret: nil).isEmpty)
    }

    @Test func aFoldedDeliveryTellsHowManyTransitionsItStandsFor() {
        var delivery = AlertDelivery(
            id: 1, eventID: 1, ruleID: 1, url: "http://x/", secret: nil, body: #"{"status":"firing","value":9}"#,
            idempotencyKey: "k", status: .pending, attempts: 0, nextAttemptAt: 0, deadline: 0, lastError: nil, updatedAt: 0)
        #expect(WebhookRequest.body(delivery) == #"{"status":"firing","value":9}"#)
        delivery.folded = 41
        #expect(WebhookRequest.body(delivery) == #"{"status":"firing","value":9,"folded":41}"#)
    }

    /// HMAC-SHA256 by the openssl command, independent of the hub's own code.
    private static func hmacHex(key: String, message: String) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["dgst", "-sha256", "-hmac", key, "-r"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try? process.run()
        input.fileHandleForWriting.write(Data(message.utf8))
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return String(text.prefix { $0 != " " })
    }

    @Test func receiverIsHostAndPort() {
        #expect(WebhookDeliverer.receiver("https://example.org/hook") == "example.org:443")
        #expect(WebhookDeliverer.receiver("http://127.0.0.1:8080/x") == "127.0.0.1:8080")
    }
}
