/// Which messages are on the wire and which must go (again), for one
/// connection. Pure state: the client feeds it events and asks what to send.
///
/// Messages are immutable once numbered: a message is resent with its own
/// `seq` until acknowledged or refused for good. After a retryable refusal of
/// `seq` S, S and everything sent after it go again, in order, once the wait
/// is over (the hub holds later messages until S comes again).
public struct SendWindow: Sendable, Equatable {
    /// Most unacknowledged messages at once.
    public let limit: Int
    /// Sent, not yet acknowledged, in `seq` order.
    public private(set) var inFlight: [Int64] = []
    /// Numbered messages waiting to be (re)sent, in `seq` order.
    public private(set) var queued: [Int64] = []
    /// No sending before this instant (after a retryable refusal).
    public private(set) var holdUntil: ContinuousClock.Instant?

    public init(limit: Int, resend: [Int64] = []) {
        self.limit = max(1, limit)
        self.queued = resend.sorted()
    }

    public var hasRoom: Bool { inFlight.count < limit }

    /// Whether a message may go now.
    public func canSend(at now: ContinuousClock.Instant) -> Bool {
        hasRoom && (holdUntil.map { now >= $0 } ?? true)
    }

    /// The next already-numbered message to resend, if any; else the caller numbers a new one.
    public mutating func nextQueued() -> Int64? {
        queued.isEmpty ? nil : queued.removeFirst()
    }

    public mutating func sent(_ seq: Int64) {
        inFlight.append(seq)
    }

    /// A cumulative ack: every message up to `seq` is done.
    public mutating func acknowledged(upTo seq: Int64) {
        inFlight.removeAll { $0 <= seq }
        queued.removeAll { $0 <= seq }
    }

    /// A refusal. Retryable: go back to `seq` after the wait. Not retryable: the message is gone.
    public mutating func refused(_ seq: Int64, retryable: Bool, retryAfter: Duration, now: ContinuousClock.Instant) {
        guard retryable else {
            inFlight.removeAll { $0 == seq }
            queued.removeAll { $0 == seq }
            return
        }
        guard inFlight.contains(seq) else { return }  // already gone back past it
        let again = inFlight.filter { $0 >= seq }
        inFlight.removeAll { $0 >= seq }
        queued = (again + queued).sorted()
        holdUntil = now + retryAfter
    }
}
