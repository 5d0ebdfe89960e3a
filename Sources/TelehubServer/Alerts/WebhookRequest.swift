import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import TelehubAuth
import TelehubStore

/// The HTTP request of one delivery attempt, as the contract fixes it.
enum WebhookRequest {
    static func make(_ delivery: AlertDelivery, sentAt nowMs: Int64) -> HTTPClientRequest {
        let body = self.body(delivery)
        let timestamp = String(nowMs / 1000)
        var request = HTTPClientRequest(url: delivery.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "telehub-webhook")
        request.headers.add(name: "Idempotency-Key", value: delivery.idempotencyKey)
        request.headers.add(name: "X-Telehub-Timestamp", value: timestamp)
        for (name, value) in signatures(body: body, timestamp: timestamp, secret: delivery.secret) {
            request.headers.add(name: name, value: value)
        }
        request.body = .bytes(ByteBuffer(string: body))
        return request
    }

    /// v1.1's signature of the body, and v1.2's of `"<timestamp>.<body>"`,
    /// which a receiver can refuse when the timestamp is old (a replay).
    static func signatures(body: String, timestamp: String, secret: String?) -> [(String, String)] {
        guard let secret else { return [] }
        let key = Array(secret.utf8)
        return [
            ("X-Telehub-Signature", "sha256=" + hex(Crypto.hmacSHA256(key: key, message: Array(body.utf8)))),
            ("X-Telehub-Signature-v2", "sha256=" + hex(Crypto.hmacSHA256(key: key, message: Array((timestamp + "." + body).utf8)))),
        ]
    }

    /// The stored body, with `"folded": N` when the delivery stands for N
    /// earlier transitions of its rule and device that were never sent.
    static func body(_ delivery: AlertDelivery) -> String {
        guard delivery.folded > 0, delivery.body.hasSuffix("}") else { return delivery.body }
        return delivery.body.dropLast() + ",\"folded\":\(delivery.folded)}"
    }

    private static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }
}
