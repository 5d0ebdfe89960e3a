import Foundation
import Testing
import TelehubCore
@testable import TelehubStore

@Suite struct AlertStoreTests {
    private func rule(_ name: String, webhook: String? = "http://127.0.0.1:9/hook") -> AlertRule {
        AlertRule(
            id: 0, name: name, device: "d", metric: "t", condition: .threshold(Threshold(direction: .above, limit: 8, forMs: 5000, clearAt: 7)),
            severity: .critical, webhook: webhook, secret: "k")
    }

    private func firing(_ ruleID: Int64, deviceID: Int64, ts: Int64, url: String = "http://127.0.0.1:9/hook") -> AlertTransitionRecord {
        AlertTransitionRecord(
            deviceID: deviceID,
            transition: AlertTransition(ruleID: ruleID, device: "d", state: .firing, value: 9, ts: ts, startsAt: ts),
            delivery: NewDelivery(url: url, secret: nil, body: "{}", idempotencyKey: UUID().uuidString, deadline: .max))
    }

    @Test func rulesRoundTripAndNamesAreUnique() async throws {
        let store = try SQLiteStore(path: TemporaryDatabase().path)
        let stored = try await store.createAlertRule(rule("warm"))
        #expect(stored.id > 0)
        var offline = rule("silent")
        offline.metric = nil
        offline.device = nil
        offline.condition = .offline(afterMs: 120_000)
        _ = try await store.createAlertRule(offline)
        let rules = try await store.alertRules()
        #expect(rules.map(\.name) == ["warm", "silent"])
        #expect(rules[0] == stored)
        #expect(rules[1].condition == .offline(afterMs: 120_000) && rules[1].device == nil)
        await #expect(throws: AlertStoreError.duplicateName("warm")) { try await store.createAlertRule(rule("warm")) }
        var invalid = rule("bad")
        invalid.webhook = "gopher://x"
        await #expect(throws: AlertStoreError.self) { try await store.createAlertRule(invalid) }
    }

    /// State and transitions go in with the readings, in one transaction:
    /// a commit for a deleted device stores neither.
    @Test func changesCommitWithTheReadingsAndSurviveReopening() async throws {
        let database = try TemporaryDatabase()
        var store: SQLiteStore? = try SQLiteStore(path: database.path)
        let ruleID = try await store!.createAlertRule(rule("warm")).id
        let deviceID = try await store!.ensureDevice(named: "d")
        let changes = AlertChanges(
            states: [AlertStateChange(ruleID: ruleID, deviceID: deviceID, state: AlertSeriesState(phase: .firing, since: 1000, value: 9))],
            transitions: [firing(ruleID, deviceID: deviceID, ts: 1000)])
        try await store!.commit(CommitBatch(points: [SeriesPoint(deviceID: deviceID, metric: "t", ts: 1000, value: 9)], alerts: changes))
        store = nil
        let reopened = try SQLiteStore(path: database.path)
        let states = try await reopened.alertStates()
        #expect(states.map(\.state) == [AlertSeriesState(phase: .firing, since: 1000, value: 9)])
        #expect(states.map(\.device) == ["d"])
        let history = try await reopened.alertHistory(limit: 10)
        #expect(history.events.map(\.transition.state) == [.firing])
        #expect(history.deliveries.map(\.status) == [.pending])
        #expect(try await reopened.dueDeliveries(now: .max, limit: 10).count == 1)
    }

    @Test func deliveryLifecycleRetryDeadRedeliver() async throws {
        let store = try SQLiteStore(path: TemporaryDatabase().path)
        let ruleID = try await store.createAlertRule(rule("warm")).id
        let deviceID = try await store.ensureDevice(named: "d")
        try await store.recordAlertChanges(AlertChanges(transitions: [firing(ruleID, deviceID: deviceID, ts: 1)]))
        let delivery = try #require(try await store.dueDeliveries(now: .max, limit: 10).first)
        try await store.recordDeliveryOutcome(id: delivery.id, outcome: .retry(at: 5_000_000_000_000, error: "HTTP 503"))
        #expect(try await store.dueDeliveries(now: 4_999_999_999_999, limit: 10).isEmpty)
        #expect(try await store.nextDeliveryDue() == 5_000_000_000_000)
        #expect(try await store.redeliver(id: delivery.id, deadline: .max) == false)  // not dead
        try await store.recordDeliveryOutcome(id: delivery.id, outcome: .dead(error: "HTTP 410"))
        var seen = try await store.alertHistory(limit: 10).deliveries[0]
        #expect((seen.status, seen.attempts, seen.lastError) == (.dead, 2, "HTTP 410"))
        #expect(try await store.redeliver(id: delivery.id, deadline: .max))
        try await store.recordDeliveryOutcome(id: delivery.id, outcome: .delivered)
        seen = try await store.alertHistory(limit: 10).deliveries[0]
        #expect((seen.status, seen.attempts, seen.lastError) == (.delivered, 3, nil))
        #expect(try await store.deliveryCounts().byStatus == [.delivered: 1])
    }

    @Test func aReceiverOwesAtMostItsBoundAndTheOldestGoFirst() async throws {
        let store = try SQLiteStore(path: TemporaryDatabase().path)
        let ruleID = try await store.createAlertRule(rule("warm")).id
        let deviceID = try await store.ensureDevice(named: "d")
        let bound = SQLiteStore.maxPendingPerReceiver
        try await store.recordAlertChanges(AlertChanges(transitions: (0..<(bound + 3)).map { firing(ruleID, deviceID: deviceID, ts: Int64($0)) }))
        try await store.recordAlertChanges(AlertChanges(transitions: [firing(ruleID, deviceID: deviceID, ts: 1, url: "http://other/")]))
        let counts = try await store.deliveryCounts().byStatus
        #expect(counts[.pending] == bound + 1)  // the other receiver's one is not affected
        #expect(counts[.dead] == 3)
        let oldestLeft = try await store.dueDeliveries(now: .max, limit: 1).first
        #expect(oldestLeft?.id == 4)
    }

    @Test func deletingARuleDropsItsStateAndOwedDeliveriesButKeepsHistory() async throws {
        let store = try SQLiteStore(path: TemporaryDatabase().path)
        let ruleID = try await store.createAlertRule(rule("warm")).id
        let deviceID = try await store.ensureDevice(named: "d")
        try await store.recordAlertChanges(AlertChanges(
            states: [AlertStateChange(ruleID: ruleID, deviceID: deviceID, state: AlertSeriesState(phase: .firing, since: 1))],
            transitions: [firing(ruleID, deviceID: deviceID, ts: 1)]))
        #expect(try await store.deleteAlertRule(id: ruleID))
        #expect(try await store.deleteAlertRule(id: ruleID) == false)
        #expect(try await store.alertStates().isEmpty)
        #expect(try await store.dueDeliveries(now: .max, limit: 10).isEmpty)
        #expect(try await store.alertHistory(limit: 10).events.count == 1)
        // Changes for a rule deleted meanwhile (a commit in flight) are dropped.
        try await store.recordAlertChanges(AlertChanges(transitions: [firing(ruleID, deviceID: deviceID, ts: 2)]))
        #expect(try await store.alertHistory(limit: 10).events.count == 1)
    }

    @Test func oldHistoryGoesButOwedDeliveriesStay() async throws {
        let store = try SQLiteStore(path: TemporaryDatabase().path)
        let ruleID = try await store.createAlertRule(rule("warm")).id
        let deviceID = try await store.ensureDevice(named: "d")
        try await store.recordAlertChanges(AlertChanges(transitions: (0..<3).map { firing(ruleID, deviceID: deviceID, ts: Int64($0)) }))
        let deliveries = try await store.dueDeliveries(now: .max, limit: 10)
        try await store.recordDeliveryOutcome(id: deliveries[0].id, outcome: .delivered)
        try await store.recordDeliveryOutcome(id: deliveries[1].id, outcome: .dead(error: "HTTP 410"))
        #expect(try await store.deleteAlertHistory(before: 0, maxRows: 10) == 0)  // nothing is that old
        #expect(try await store.deleteAlertHistory(before: .max, maxRows: 10) == 2)
        let left = try await store.alertHistory(limit: 10)
        #expect(left.events.count == 1 && left.deliveries.map(\.status) == [.pending])
        #expect(try await store.deviceActivity().map(\.name) == ["d"])
    }
}
