import TelehubCore

/// Per device, the first message refused with a retryable error, until it is
/// sent again. Later messages are refused with the same error meanwhile, so
/// a device that pipelines resends them all in order (go-back-N) and its
/// `seq` order on disk never has a hole that `lastSeq` would hide.
struct RetryHolds {
    struct Hold {
        var seq: Int64
        var rejection: IngestRejection
        var retryAt: ContinuousClock.Instant
        /// A device that never resends (it gave the message up) is not held forever.
        var expires: ContinuousClock.Instant
    }

    private var holds: [Int64: Hold] = [:]
    let lifetime: Duration

    init(lifetime: Duration = .seconds(60)) {
        self.lifetime = lifetime
    }

    mutating func hold(deviceID: Int64, seq: Int64, rejection: IngestRejection, now: ContinuousClock.Instant = .now) {
        if let existing = holds[deviceID], existing.seq <= seq, existing.expires > now { return }
        let wait = Duration.milliseconds(rejection.retryAfterMs ?? 0)
        holds[deviceID] = Hold(seq: seq, rejection: rejection, retryAt: now + wait, expires: now + wait + lifetime)
    }

    /// The refusal for message `seq`, or nil when it may go ahead (which
    /// releases the hold once the held message itself comes again).
    mutating func refusal(deviceID: Int64, seq: Int64, now: ContinuousClock.Instant = .now) -> IngestRejection? {
        guard let hold = holds[deviceID] else { return nil }
        guard seq > hold.seq, hold.expires > now else {
            holds[deviceID] = nil
            return nil
        }
        let waitMs = max(1, Int((hold.retryAt - now) / .milliseconds(1)))
        return IngestRejection(
            hold.rejection.code,
            "seq \(hold.seq) was refused (\(hold.rejection.code.rawValue)); send again from seq \(hold.seq)",
            seq: seq, retryAfterMs: waitMs)
    }

    mutating func clear(deviceID: Int64) {
        holds[deviceID] = nil
    }
}
