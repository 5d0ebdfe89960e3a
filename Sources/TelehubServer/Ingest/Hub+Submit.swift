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
    /// `Retry-After` in whole seconds, at least 1.
    var retryAfterSeconds: Int { max(1, ((retryAfterMs ?? 1000) + 999) / 1000) }
}
