import Testing
import TelehubCore
import TelehubStore
@testable import TelehubServer

@Suite struct AlertBookTests {
    private let warm = AlertRule(
        id: 1, name: "warm", device: nil, metric: "t", condition: .threshold(Threshold(direction: .above, limit: 8)),
        webhook: "http://127.0.0.1:9/hook", secret: "k")

    @Test func evaluatesInCommitOrderPerDeviceAndLeavesTheBookUntilApplied() {
        var book = AlertBook(retryForMs: 86_400_000)
        book.load(rules: [warm], stored: [])
        let points = [
            SeriesPoint(deviceID: 1, metric: "t", ts: 1, value: 9), SeriesPoint(deviceID: 2, metric: "t", ts: 1, value: 7),
            SeriesPoint(deviceID: 1, metric: "h", ts: 1, value: 99), SeriesPoint(deviceID: 1, metric: "t", ts: 2, value: 7),
        ]
        let names: [Int64: String] = [1: "a", 2: "b"]
        let evaluation = book.evaluate(points, deviceName: { names[$0] }, now: 100)
        let changes = evaluation.changes
        #expect(changes.transitions.map(\.transition.state) == [.firing, .resolved])
        #expect(changes.transitions.map(\.transition.device) == ["a", "a"])
        #expect(changes.transitions.allSatisfy { $0.delivery?.url == "http://127.0.0.1:9/hook" && $0.delivery?.deadline == 100 + book.retryForMs })
        #expect(Set(changes.transitions.compactMap(\.delivery?.idempotencyKey)).count == 2)
        #expect(changes.transitions[1].transition.startsAt == 1)
        #expect(book.states.isEmpty)  // nothing until the commit succeeded
        // Device 1 went ok → firing → ok (stored: the last change); device 2 never left ok (nothing stored).
        #expect(changes.states.map(\.deviceID) == [1])
        #expect(changes.states.first?.state == AlertSeriesState(phase: .ok, since: 2, value: 7))
        book.apply(evaluation)
        #expect(book.states.isEmpty)  // all ok again: nothing held
    }

    @Test func aSeriesHoldsStateOnlyWhileARuleIsNotOk() {
        var book = AlertBook(retryForMs: 86_400_000)
        var slow = warm
        slow.condition = .threshold(Threshold(direction: .above, limit: 8, forMs: 60_000))
        book.load(rules: [slow], stored: [])
        let pending = book.evaluate([SeriesPoint(deviceID: 1, metric: "t", ts: 0, value: 9)], deviceName: { _ in "a" }, now: 0)
        #expect(pending.changes.transitions.isEmpty)
        #expect(pending.changes.states.isEmpty)  // a run younger than a second is not written yet
        book.apply(pending)
        #expect(book.state(ruleID: 1, deviceID: 1)?.phase == .pending)
        let older = book.evaluate([SeriesPoint(deviceID: 1, metric: "t", ts: 1500, value: 9.5)], deviceName: { _ in "a" }, now: 0)
        #expect(older.changes.states.map(\.state) == [AlertSeriesState(phase: .pending, since: 0, value: 9.5)])
        book.apply(older)
        let again = book.evaluate([SeriesPoint(deviceID: 1, metric: "t", ts: 2000, value: 9.1)], deviceName: { _ in "a" }, now: 0)
        #expect(again.changes.states.isEmpty)  // written once per run
        book.apply(again)
        // A value that meets no rule is passed over only when nothing is held; here it breaks the run.
        let broken = book.evaluate([SeriesPoint(deviceID: 1, metric: "t", ts: 30_000, value: 5)], deviceName: { _ in "a" }, now: 0)
        book.apply(broken)
        #expect(book.state(ruleID: 1, deviceID: 1) == nil)
        #expect(broken.changes.states.map(\.state.phase) == [.ok])
        // A run that never reached a second leaves nothing to undo in the store.
        let blip = book.evaluate(
            [SeriesPoint(deviceID: 1, metric: "t", ts: 40_000, value: 9), SeriesPoint(deviceID: 1, metric: "t", ts: 40_100, value: 5)],
            deviceName: { _ in "a" }, now: 0)
        #expect(blip.changes.states.isEmpty)
        // A failed commit (never applied) leaves the book as it was.
        _ = book.evaluate([SeriesPoint(deviceID: 2, metric: "t", ts: 0, value: 9)], deviceName: { _ in "b" }, now: 0)
        #expect(book.state(ruleID: 1, deviceID: 2) == nil)
    }

    /// Past eight metrics the groups are found by hashing instead of a scan: both must agree.
    @Test func manyMetricsAreFoundByHash() {
        var book = AlertBook(retryForMs: 86_400_000)
        let rules = (0..<12).map { index in
            AlertRule(id: Int64(index + 1), name: "r\(index)", device: nil, metric: "m\(index)",
                      condition: .threshold(Threshold(direction: .above, limit: Double(index))))
        }
        book.load(rules: rules, stored: [])
        let points = (0..<12).map { SeriesPoint(deviceID: 1, metric: "m\($0)", ts: 1, value: Double($0) + 0.5) }
        let fired = book.evaluate(points, deviceName: { _ in "a" }, now: 0).changes.transitions.map(\.transition.ruleID)
        #expect(fired == Array(1...12))
    }

    @Test func reloadingKeepsStateOfRulesThatRemain() {
        var book = AlertBook(retryForMs: 86_400_000)
        book.load(rules: [warm], stored: [StoredAlertState(ruleID: 1, deviceID: 1, device: "a", state: .init(phase: .firing, since: 5))])
        #expect(book.state(ruleID: 1, deviceID: 1)?.phase == .firing)
        var other = warm
        other.id = 2
        book.load(rules: [warm, other], stored: [])
        #expect(book.state(ruleID: 1, deviceID: 1)?.phase == .firing)
        // A firing alert resolves from the restored state.
        let resolved = book.evaluate([SeriesPoint(deviceID: 1, metric: "t", ts: 9, value: 7)], deviceName: { _ in "a" }, now: 0)
        #expect(resolved.changes.transitions.map(\.transition.state) == [.resolved, ])
        #expect(resolved.changes.transitions.first?.transition.startsAt == 5)
        book.load(rules: [other], stored: [])
        #expect(book.states.isEmpty)
    }
}
