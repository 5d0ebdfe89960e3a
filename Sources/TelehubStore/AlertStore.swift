public import TelehubCore

/// Alert rules, their state per device, transitions and the webhook
/// deliveries they owe.
public protocol AlertStore: Sendable {
    /// Stores a new rule (its id is assigned); throws `AlertStoreError`.
    func createAlertRule(_ rule: AlertRule) async throws -> AlertRule
    func alertRules() async throws -> [AlertRule]
    /// A number that moves, in the same transaction, with every rule created
    /// or deleted: read (one row) before every commit, so a rule applies to
    /// the first reading committed after it, while the rules themselves are
    /// read only when it moved.
    func alertRulesVersion() async throws -> Int64
    /// Deletes the rule, its state and the deliveries it still owes; history stays.
    func deleteAlertRule(id: Int64) async throws -> Bool
    func alertStates() async throws -> [StoredAlertState]
    /// Changes the clock caused (offline alerts); a commit carries the rest.
    func recordAlertChanges(_ changes: AlertChanges) async throws
    /// The newest transitions and deliveries, at most `limit` of each.
    func alertHistory(limit: Int) async throws -> (events: [AlertEventRecord], deliveries: [AlertDelivery])
    /// Pending deliveries due at `now`, oldest first. A delivery waits while
    /// an older one of the same rule and device is still owed, so a receiver
    /// never gets an alert's `resolved` before its `firing`.
    func dueDeliveries(now: Int64, limit: Int) async throws -> [AlertDelivery]
    func nextDeliveryDue() async throws -> Int64?
    func recordDeliveryOutcome(id: Int64, outcome: DeliveryOutcome) async throws
    /// Queues a dead delivery again. - Returns: false when no dead delivery has this id.
    func redeliver(id: Int64, deadline: Int64) async throws -> Bool
    func deliveryCounts() async throws -> DeliveryCounts
    /// Deletes at most `maxRows` old transitions with their deliveries, keeping those still owed.
    func deleteAlertHistory(before: Int64, maxRows: Int) async throws -> Int
}
