import Foundation
import TelehubCore

/// The hub's `hello`, as a device needs it.
struct Hello {
    var lastSeq: Int64
    var maxBatch: Int

    init?(_ text: String) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
            object["type"] as? String == "hello", let lastSeq = (object["lastSeq"] as? NSNumber)?.int64Value
        else { return nil }
        self.lastSeq = lastSeq
        self.maxBatch = (object["maxBatch"] as? NSNumber)?.intValue ?? 1000
    }
}

/// What the hub answers to a message.
enum Reply {
    case ack(Int64)
    case error(seq: Int64, retryable: Bool, retryAfterMs: Int64, message: String)

    init?(_ text: String) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
            let seq = (object["seq"] as? NSNumber)?.int64Value
        else { return nil }
        switch object["type"] as? String {
        case "ack":
            self = .ack(seq)
        case "error":
            self = .error(
                seq: seq, retryable: object["retryable"] as? Bool ?? false,
                retryAfterMs: (object["retryAfterMs"] as? NSNumber)?.int64Value ?? 1000,
                message: object["message"] as? String ?? "")
        default:
            return nil
        }
    }
}
