public import TelehubCore

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

/// One commit's transitions with deliveries, folded as `DeliveryFolding` folds
/// them one at a time, worked out in memory: a store then writes each rule and
/// device's outcome in a few statements (new rows in one insert, at most one
/// update of a waiting row), not a lock, a read and a write per transition.
/// A flapping device sends hundreds of transitions in one commit.
public struct DeliveryFoldPlan: Sendable, Equatable {
    /// A rule and a device: the unit deliveries are owed and folded in.
    public struct Pair: Hashable, Sendable {
        public var ruleID: Int64
        public var device: String

        public init(ruleID: Int64, device: String) {
            self.ruleID = ruleID
            self.device = device
        }
    }

    /// A transition's delivery, with its event's id.
    public struct Transition: Sendable, Equatable {
        public var pair: Pair
        public var eventID: Int64
        public var delivery: NewDelivery

        public init(pair: Pair, eventID: Int64, delivery: NewDelivery) {
            self.pair = pair
            self.eventID = eventID
            self.delivery = delivery
        }

        /// `transition`'s delivery, its rule and device the pair.
        public init(_ transition: AlertTransition, eventID: Int64, delivery: NewDelivery) {
            self.init(pair: Pair(ruleID: transition.ruleID, device: transition.device), eventID: eventID, delivery: delivery)
        }
    }

    /// A pending row to insert, or the new content of a waiting one: the
    /// latest transition folded into it, and how many were folded.
    public struct Row: Sendable, Equatable {
        public var latest: Transition
        public var folded: Int64

        mutating func fold(_ transition: Transition) {
            latest = transition
            folded += 1
        }
    }

    /// New rows, in the order they are to be inserted (a pair's in its transitions' order).
    public private(set) var inserts: [Row] = []
    /// Stored rows that transitions were folded into, by id; `folded` is what to add.
    public private(set) var updates: [Int64: Row] = [:]

    /// - Parameters:
    ///   - owed: each pair's pending deliveries, oldest first, as stored now.
    ///   - transitions: in the order they happened.
    public init(owed: [Pair: [OwedDelivery]], transitions: [Transition]) {
        var owed = owed
        for transition in transitions {
            switch DeliveryFolding.target(owed[transition.pair] ?? []) {
            case let target? where target < 0:
                inserts[Int(-target) - 1].fold(transition)
            case let target?:
                updates[target, default: Row(latest: transition, folded: 0)].fold(transition)
            case nil:
                inserts.append(Row(latest: transition, folded: 0))
                // New rows stand in the list under negative ids until they have real ones.
                owed[transition.pair, default: []].append(OwedDelivery(id: -Int64(inserts.count), attempts: 0))
            }
        }
    }
}
