import Foundation
import Testing
import TelehubStore
@testable import TelehubServer

@Suite struct WebhookRequestTests {
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
}
