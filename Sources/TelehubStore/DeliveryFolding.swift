/// A delivery its rule and device still owe, as folding sees it.
public struct OwedDelivery: Sendable, Equatable {
    public var id: Int64
    public var attempts: Int

    public init(id: Int64, attempts: Int) {
        self.id = id
        self.attempts = attempts
    }
}

/// Keeps a flapping alert from flooding its receiver and the queue.
///
/// One rule and device's deliveries go out in order, one at a time (the
/// oldest owed first, see `dueDeliveries`). The oldest may be on the wire at
/// any moment, so it is never touched; the one waiting behind it has never
/// been sent. A new transition that finds one waiting takes its place: the
/// receiver gets the latest state with `"folded": N`, the count of
/// transitions it stands for that were never sent. So a rule and device
/// owe at most two deliveries, however fast the value flaps, and nothing of
/// another rule or device is ever dropped to make room.
public enum DeliveryFolding {
    /// - Parameter owed: the pair's pending deliveries, oldest first.
    /// - Returns: the delivery to fold a new transition into, or nil to queue a new one.
    public static func target(_ owed: [OwedDelivery]) -> Int64? {
        // A redelivered dead letter may sit behind a newer one; never fold into an attempted delivery.
        guard owed.count >= 2, let waiting = owed.last, waiting.attempts == 0 else { return nil }
        return waiting.id
    }
}
