public import TelehubCore

/// What a commit (or the offline watch) changes about alerts, written in the
/// same transaction as the readings that caused it: a transition is never
/// stored without the readings it came from, nor a delivery without its
/// transition, so a crash loses neither.
public struct AlertChanges: Sendable, Equatable {
    /// New state per rule and device.
    public var states: [AlertStateChange]
    /// Transitions to record, each with its webhook delivery when the rule has one.
    public var transitions: [AlertTransitionRecord]

    public init(states: [AlertStateChange] = [], transitions: [AlertTransitionRecord] = []) {
        self.states = states
        self.transitions = transitions
    }

    public var isEmpty: Bool { states.isEmpty && transitions.isEmpty }
}

public struct AlertStateChange: Sendable, Equatable {
    public var ruleID: Int64
    public var deviceID: Int64
    public var state: AlertSeriesState

    public init(ruleID: Int64, deviceID: Int64, state: AlertSeriesState) {
        self.ruleID = ruleID
        self.deviceID = deviceID
        self.state = state
    }
}

public struct AlertTransitionRecord: Sendable, Equatable {
    public var deviceID: Int64
    public var transition: AlertTransition
    public var delivery: NewDelivery?

    public init(deviceID: Int64, transition: AlertTransition, delivery: NewDelivery?) {
        self.deviceID = deviceID
        self.transition = transition
        self.delivery = delivery
    }
}

/// A webhook call owed for a transition, as first queued.
public struct NewDelivery: Sendable, Equatable {
    public var url: String
    public var secret: String?
    /// The exact bytes sent on every attempt (what the signature covers).
    public var body: String
    /// Unique per transition, the same on every attempt.
    public var idempotencyKey: String
    /// Give up (dead letter) after this time.
    public var deadline: Int64

    public init(url: String, secret: String?, body: String, idempotencyKey: String, deadline: Int64) {
        self.url = url
        self.secret = secret
        self.body = body
        self.idempotencyKey = idempotencyKey
        self.deadline = deadline
    }
}

/// A queued webhook call, as the delivery worker and `alert history` see it.
public struct AlertDelivery: Sendable, Equatable {
    public enum Status: String, Sendable, Codable { case pending, delivered, dead }

    public var id: Int64
    public var eventID: Int64
    public var ruleID: Int64
    public var url: String
    public var secret: String?
    public var body: String
    public var idempotencyKey: String
    public var status: Status
    public var attempts: Int
    public var nextAttemptAt: Int64
    public var deadline: Int64
    public var lastError: String?
    public var updatedAt: Int64
    /// Earlier transitions of the same rule and device this delivery stands
    /// for: they came while it waited and were folded into it, unsent.
    public var folded: Int
    /// The device whose transition it carries ("" for a delivery queued before deliveries named one).
    public var device: String

    public init(
        id: Int64, eventID: Int64, ruleID: Int64, url: String, secret: String?, body: String, idempotencyKey: String,
        status: Status, attempts: Int, nextAttemptAt: Int64, deadline: Int64, lastError: String?, updatedAt: Int64,
        folded: Int = 0, device: String = ""
    ) {
        self.id = id
        self.eventID = eventID
        self.ruleID = ruleID
        self.url = url
        self.secret = secret
        self.body = body
        self.idempotencyKey = idempotencyKey
        self.status = status
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.deadline = deadline
        self.lastError = lastError
        self.updatedAt = updatedAt
        self.folded = folded
        self.device = device
    }
}

/// A stored transition, for `alert history`.
public struct AlertEventRecord: Sendable, Equatable {
    public var id: Int64
    public var transition: AlertTransition
    public var recordedAt: Int64

    public init(id: Int64, transition: AlertTransition, recordedAt: Int64) {
        self.id = id
        self.transition = transition
        self.recordedAt = recordedAt
    }
}

/// A rule's state for one device as stored.
public struct StoredAlertState: Sendable, Equatable {
    public var ruleID: Int64
    public var deviceID: Int64
    public var device: String
    public var state: AlertSeriesState

    public init(ruleID: Int64, deviceID: Int64, device: String, state: AlertSeriesState) {
        self.ruleID = ruleID
        self.deviceID = deviceID
        self.device = device
        self.state = state
    }
}

/// The delivery queue at a glance, for `/metrics`.
public struct DeliveryCounts: Sendable, Equatable {
    public var byStatus: [AlertDelivery.Status: Int]
    /// When the oldest pending delivery's transition was recorded.
    public var oldestPending: Int64?
    /// Transitions folded into the deliveries held (a flapping alert's).
    public var folded: Int

    public init(byStatus: [AlertDelivery.Status: Int], oldestPending: Int64?, folded: Int) {
        self.byStatus = byStatus
        self.oldestPending = oldestPending
        self.folded = folded
    }
}

/// What happened to one delivery attempt.
public enum DeliveryOutcome: Sendable, Equatable {
    case delivered
    /// Try again at this time.
    case retry(at: Int64, error: String)
    /// No more attempts: a final answer, or out of time.
    case dead(error: String)
}

public enum AlertStoreError: Error, Equatable, CustomStringConvertible {
    case invalidRule(String)
    case duplicateName(String)
    case tooManyRules(Int)

    public var description: String {
        switch self {
        case .invalidRule(let why): why
        case .duplicateName(let name): "an alert named \"\(name)\" exists already"
        case .tooManyRules(let limit): "at most \(limit) alert rules"
        }
    }
}
