import HTTPTypes
import TelehubCore

extension Hub {
    /// Hands one message of an HTTP request to the ingest actor and waits for
    /// its outcome: committed (then acknowledged) or rejected.
    func submit(_ message: IngestMessage, identity: TokenIdentity, now: Int64) async -> IngestActor.Outcome {
        // Only device identities reach here (`requireDevice`).
        guard let deviceID = identity.deviceID, let device = identity.deviceName else {
            return .rejected(IngestRejection(.invalidMessage, "not a device token", seq: message.seq))
        }
        let (outcomes, continuation) = AsyncStream.makeStream(of: IngestActor.Outcome.self)
        await ingest.submit(
            .init(deviceID: deviceID, device: device, message: message, receivedAt: now) {
                continuation.yield($0)
                continuation.finish()
            })
        for await outcome in outcomes { return outcome }
        return .rejected(IngestRejection(.overloaded, "the hub is shutting down", seq: message.seq))
    }
}

extension IngestRejection {
    /// 429 (rate) or 503 (overload) for a refusal that may succeed later,
    /// with `Retry-After`; nil for one that will not.
    var retryStatus: HTTPResponse.Status? {
        switch code {
        case .rateLimited: .tooManyRequests
        case .overloaded: .serviceUnavailable
        default: nil
        }
    }

    /// `Retry-After` in whole seconds, at least 1.
    var retryAfterSeconds: Int64 { APIError.retryAfterSeconds(Int64(retryAfterMs ?? 1000)) }
}
