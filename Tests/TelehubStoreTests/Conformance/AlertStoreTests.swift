import Foundation
import Testing
import TelehubCore
import TelehubStore

/// Alert rules, state and deliveries, on every store (`StoreKind.available`).
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

    @Test(arguments: StoreKind.available) func rulesRoundTripAndNamesAreUnique(_ kind: StoreKind) async throws {
        let store = try await freshStore(kind)
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
    @Test(arguments: StoreKind.available) func changesCommitWithTheReadingsAndSurviveReopening(_ kind: StoreKind) async throws {
        let location = try StoreLocation(kind)
        var store: (any TelemetryStore)? = try await location.open()
        let ruleID = try await store!.createAlertRule(rule("warm")).id
        let deviceID = try await store!.ensureDevice(named: "d")
        let changes = AlertChanges(
            states: [AlertStateChange(ruleID: ruleID, deviceID: deviceID, state: AlertSeriesState(phase: .firing, since: 1000, value: 9))],
            transitions: [firing(ruleID, deviceID: deviceID, ts: 1000)])
        try await store!.commit(CommitBatch(points: [SeriesPoint(deviceID: deviceID, metric: "t", ts: 1000, value: 9)], alerts: changes))
        store = nil
        let reopened = try await location.open()
        let states = try await reopened.alertStates()
        #expect(states.map(\.state) == [AlertSeriesState(phase: .firing, since: 1000, value: 9)])
        #expect(states.map(\.device) == ["d"])
        let history = try await reopened.alertHistory(limit: 10)
        #expect(history.events.map(\.transition.state) == [.firing])
        #expect(history.deliveries.map(\.status) == [.pending])
        #expect(try await reopened.dueDeliveries(now: .max, limit: 10).count == 1)
    }

    @Test(arguments: StoreKind.available) func deliveryLifecycleRetryDeadRedeliver(_ kind: StoreKind) async throws {
        let store = try await freshStore(kind)
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

    /// A flapping rule and device owe at most two deliveries (the oldest,
    /// perhaps on the wire, and the latest waiting with a count of what was
    /// folded into it); another device's deliveries to the same receiver are
    /// neither dropped nor folded.
    @Test(arguments: StoreKind.available) func flappingFoldsIntoOneWaitingDeliveryAndDropsNothingElse(_ kind: StoreKind) async throws {
        let store = try await freshStore(kind)
        var watchAll = rule("warm")
        watchAll.device = nil
        let ruleID = try await store.createAlertRule(watchAll).id
        let deviceID = try await store.ensureDevice(named: "d")
        let otherID = try await store.ensureDevice(named: "e")
        var other = firing(ruleID, deviceID: otherID, ts: 1)
        other.transition.device = "e"
        try await store.recordAlertChanges(AlertChanges(transitions: [other]))
        let flaps = (0..<50).map { firing(ruleID, deviceID: deviceID, ts: Int64(10 + $0)) }
        try await store.recordAlertChanges(AlertChanges(transitions: Array(flaps.prefix(20))))
        try await store.recordAlertChanges(AlertChanges(transitions: Array(flaps.dropFirst(20))))
        let counts = try await store.deliveryCounts()
        #expect(counts.byStatus == [.pending: 3])
        #expect(counts.folded == 48)
        let history = try await store.alertHistory(limit: 100)
        #expect(history.events.count == 51)  // every transition stays in the history
        let byDevice = Dictionary(grouping: history.deliveries, by: \.device)
        #expect(byDevice["e"]?.map(\.folded) == [0])
        #expect(byDevice["d"]?.map(\.folded).sorted() == [0, 48])
        // The waiting one carries the latest transition (its key), the first stays as it was.
        let waiting = try #require(byDevice["d"]?.max { $0.id < $1.id })
        #expect(waiting.idempotencyKey == flaps.last?.delivery?.idempotencyKey)
        #expect(byDevice["d"]?.min { $0.id < $1.id }?.idempotencyKey == flaps.first?.delivery?.idempotencyKey)
        // Events are numbered in the order their transitions happened, and each
        // delivery points at the event it now stands for.
        let events = history.events.filter { $0.transition.device == "d" }.sorted { $0.id < $1.id }
        #expect(events.map(\.transition.ts) == flaps.map(\.transition.ts))
        #expect(waiting.eventID == events.last?.id)
        #expect(byDevice["d"]?.min { $0.id < $1.id }?.eventID == events.first?.id)
        // Both devices' oldest are due at once; the folded one waits for its first.
        #expect(try await store.dueDeliveries(now: .max, limit: 10).map(\.device).sorted() == ["d", "e"])
    }

    /// An outcome arriving for a delivery that is no longer pending (made dead
    /// or delivered meanwhile) changes nothing: its reason stays.
    @Test(arguments: StoreKind.available) func anOutcomeNeverRewritesADeliveryThatIsNoLongerPending(_ kind: StoreKind) async throws {
        let store = try await freshStore(kind)
        let ruleID = try await store.createAlertRule(rule("warm")).id
        let deviceID = try await store.ensureDevice(named: "d")
        try await store.recordAlertChanges(AlertChanges(transitions: [firing(ruleID, deviceID: deviceID, ts: 1)]))
        let delivery = try #require(try await store.dueDeliveries(now: .max, limit: 10).first)
        try await store.recordDeliveryOutcome(id: delivery.id, outcome: .dead(error: "HTTP 410"))
        try await store.recordDeliveryOutcome(id: delivery.id, outcome: .retry(at: 1, error: "late answer"))
        try await store.recordDeliveryOutcome(id: delivery.id, outcome: .delivered)
        let seen = try await store.alertHistory(limit: 10).deliveries[0]
        #expect((seen.status, seen.attempts, seen.lastError) == (.dead, 1, "HTTP 410"))
    }

    /// The version moves with every rule created or deleted, so a commit can
    /// tell its rules are stale without reading them.
    @Test(arguments: StoreKind.available) func theRulesVersionMovesWithEveryCreateAndDelete(_ kind: StoreKind) async throws {
        let store = try await freshStore(kind)
        let empty = try await store.alertRulesVersion()
        let first = try await store.createAlertRule(rule("warm"))
        let one = try await store.alertRulesVersion()
        #expect(one != empty)
        #expect(try await store.deleteAlertRule(id: first.id))
        let none = try await store.alertRulesVersion()
        #expect(none != one)
        _ = try await store.createAlertRule(rule("warm"))  // same name, same count as before the delete
        let again = try await store.alertRulesVersion()
        #expect(again != one && again != none)
        #expect(try await store.alertRulesVersion() == again)
    }

    @Test(arguments: StoreKind.available) func deletingARuleDropsItsStateAndOwedDeliveriesButKeepsHistory(_ kind: StoreKind) async throws {
        let store = try await freshStore(kind)
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

    /// The offline watch works out its changes, then writes them; a device
    /// deleted in between takes its changes with it, and the other devices'
    /// changes in the same write still land.
    @Test(arguments: StoreKind.available) func changesOfADeviceDeletedMeanwhileAreDropped(_ kind: StoreKind) async throws {
        let store = try await freshStore(kind)
        var watchAll = rule("warm")
        watchAll.device = nil
        let ruleID = try await store.createAlertRule(watchAll).id
        let keptID = try await store.ensureDevice(named: "d")
        let goneID = try await store.ensureDevice(named: "e")
        #expect(try await store.deleteDevice(named: "e"))
        var gone = firing(ruleID, deviceID: goneID, ts: 1)
        gone.transition.device = "e"
        let state = AlertSeriesState(phase: .firing, since: 1, value: 9)
        try await store.recordAlertChanges(AlertChanges(
            states: [
                AlertStateChange(ruleID: ruleID, deviceID: goneID, state: state),
                AlertStateChange(ruleID: ruleID, deviceID: keptID, state: state),
            ],
            transitions: [gone, firing(ruleID, deviceID: keptID, ts: 1)]))
        #expect(try await store.alertStates().map(\.device) == ["d"])
        let history = try await store.alertHistory(limit: 10)
        #expect(history.events.map(\.transition.device) == ["d"])
        #expect(history.deliveries.map(\.device) == ["d"])
    }

    @Test(arguments: StoreKind.available) func oldHistoryGoesButOwedDeliveriesStay(_ kind: StoreKind) async throws {
        let store = try await freshStore(kind)
        let ruleID = try await store.createAlertRule(rule("warm")).id
        let deviceID = try await store.ensureDevice(named: "d")
        // Each transition once the one before has gone (more would be folded).
        try await store.recordAlertChanges(AlertChanges(transitions: [firing(ruleID, deviceID: deviceID, ts: 0)]))
        let first = try #require(try await store.dueDeliveries(now: .max, limit: 10).first)
        try await store.recordDeliveryOutcome(id: first.id, outcome: .delivered)
        try await store.recordAlertChanges(AlertChanges(transitions: [firing(ruleID, deviceID: deviceID, ts: 1)]))
        let second = try #require(try await store.dueDeliveries(now: .max, limit: 10).first)
        try await store.recordDeliveryOutcome(id: second.id, outcome: .dead(error: "HTTP 410"))
        try await store.recordAlertChanges(AlertChanges(transitions: [firing(ruleID, deviceID: deviceID, ts: 2)]))
        #expect(try await store.deleteAlertHistory(before: 0, maxRows: 10) == 0)  // nothing is that old
        #expect(try await store.deleteAlertHistory(before: .max, maxRows: 10) == 2)
        let left = try await store.alertHistory(limit: 10)
        #expect(left.events.count == 1 && left.deliveries.map(\.status) == [.pending])
        #expect(try await store.deviceActivity().map(\.name) == ["d"])
    }

    /// A receiver never gets an alert's `resolved` before its `firing`: a
    /// delivery waits while an older one of the same rule and device is owed
    /// (retrying included); other devices and rules do not wait.
    @Test(arguments: StoreKind.available) func deliveriesOfOneAlertGoInOrder(_ kind: StoreKind) async throws {
        let store = try await freshStore(kind)
        let ruleID = try await store.createAlertRule(rule("warm")).id
        let other = try await store.createAlertRule(rule("cold")).id
        let deviceID = try await store.ensureDevice(named: "d")
        var resolved = firing(ruleID, deviceID: deviceID, ts: 2)
        resolved.transition.state = .resolved
        try await store.recordAlertChanges(AlertChanges(transitions: [
            firing(ruleID, deviceID: deviceID, ts: 1), resolved, firing(other, deviceID: deviceID, ts: 1),
        ]))
        let first = try await store.dueDeliveries(now: .max, limit: 10)
        try #require(first.map(\.ruleID) == [ruleID, other], "\(first.map { ($0.id, $0.ruleID) })")
        try await store.recordDeliveryOutcome(id: first[0].id, outcome: .retry(at: 0, error: "HTTP 503"))
        #expect(try await store.dueDeliveries(now: .max, limit: 10).map(\.id) == [first[0].id, first[1].id])
        try await store.recordDeliveryOutcome(id: first[0].id, outcome: .delivered)
        let next = try await store.dueDeliveries(now: .max, limit: 10)
        #expect(next.count == 2 && next.contains { $0.ruleID == ruleID && $0.id != first[0].id })
    }
}
