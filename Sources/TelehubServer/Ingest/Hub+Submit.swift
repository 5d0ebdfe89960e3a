import HTTPTypes
import Synchronization
import TelehubCore

extension Hub {
    /// Hands one message of an HTTP request to the ingest actor (in the next
    /// batch of `submissions`) and waits for its outcome: committed (then
    /// acknowledged) or rejected.
    func submit(_ message: IngestMessage, identity: TokenIdentity, now: Int64) async -> IngestActor.Outcome {
        // Only device identities reach here (`requireDevice`).
        guard let deviceID = identity.deviceID, let device = identity.deviceName else {
            return .rejected(IngestRejection(.invalidMessage, "not a device token", seq: message.seq))
        }
        // The actor calls the completion exactly once (committed or refused):
        // the request's own task waits for it.
        let outcome = PendingOutcome()
        submissions.submit(.init(deviceID: deviceID, device: device, message: message, receivedAt: now) { outcome.deliver($0) })
        return await outcome.value
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

/// One message's outcome, handed from the ingest actor to the request that
/// waits for it: a continuation and a lock, where a stream would allocate
/// its buffer and iterator for one value.
final class PendingOutcome: Sendable {
    private enum State {
        case waiting(CheckedContinuation<IngestActor.Outcome, Never>?)
        case delivered(IngestActor.Outcome)
    }

    private let state = Mutex(State.waiting(nil))

    func deliver(_ outcome: IngestActor.Outcome) {
        let waiter = state.withLock { state -> CheckedContinuation<IngestActor.Outcome, Never>? in
            guard case .waiting(let waiter) = state else { return nil }  // delivered once only
            state = .delivered(outcome)
            return waiter
        }
        waiter?.resume(returning: outcome)
    }

    var value: IngestActor.Outcome {
        get async {
            await withCheckedContinuation { continuation in
                let outcome = state.withLock { state -> IngestActor.Outcome? in
                    if case .delivered(let outcome) = state { return outcome }
                    state = .waiting(continuation)
                    return nil
                }
                if let outcome { continuation.resume(returning: outcome) }
            }
        }
    }
}
