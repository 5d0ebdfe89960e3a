import Foundation
import TelehubCore
import TelehubStore

/// The rules the hub evaluates and where each stands per device: a plain
/// value the ingest actor owns. `evaluate` works on a copy and returns what
/// changed; the caller stores the changes with the readings and only then
/// `apply`s them, so a failed commit leaves the book as it was.
struct AlertBook: Sendable {
    struct Key: Hashable, Sendable {
        var ruleID: Int64
        var deviceID: Int64
    }

    private(set) var rules: [Int64: AlertRule] = [:]
    /// Threshold rules by the metric they watch: the ingest path's one lookup a point.
    private var byMetric: [String: [AlertRule]] = [:]
    private(set) var states: [Key: AlertSeriesState] = [:]
    /// How long a delivery is retried before it becomes a dead letter.
    var retryForMs: Int64 = 86_400_000
    /// Units and labels, for what people read (webhooks, the stream).
    var displays = MetricDisplayBook()

    var isEmpty: Bool { rules.isEmpty }
    var hasThresholdRules: Bool { !byMetric.isEmpty }

    /// Replaces the rules (as read from the store), keeping the state of
    /// those that remain and taking stored state for the others.
    mutating func load(rules newRules: [AlertRule], stored: [StoredAlertState]) {
        let ids = Set(newRules.map(\.id))
        let known = Set(rules.keys)
        states = states.filter { ids.contains($0.key.ruleID) }
        for entry in stored where ids.contains(entry.ruleID) && !known.contains(entry.ruleID) {
            states[Key(ruleID: entry.ruleID, deviceID: entry.deviceID)] = entry.state
        }
        rules = Dictionary(uniqueKeysWithValues: newRules.map { ($0.id, $0) })
        byMetric = [:]
        for rule in newRules {
            if case .threshold = rule.condition, let metric = rule.metric { byMetric[metric, default: []].append(rule) }
        }
    }

    /// The points of one commit, in commit order.
    /// - Parameter deviceName: the name of a device id (transitions carry names).
    func evaluate(_ points: [SeriesPoint], deviceName: (Int64) -> String?, now: Int64) -> AlertChanges {
        guard !byMetric.isEmpty else { return AlertChanges() }
        var next: [Key: AlertSeriesState] = [:]
        var changes = AlertChanges()
        for point in points {
            guard let watching = byMetric[point.metric] else { continue }
            for rule in watching {
                guard case .threshold(let threshold) = rule.condition, let name = deviceName(point.deviceID),
                    rule.watches(device: name)
                else { continue }
                let key = Key(ruleID: rule.id, deviceID: point.deviceID)
                // Earlier points of the same commit count: `next` first.
                let before = next[key] ?? states[key] ?? AlertSeriesState()
                let (state, transition) = AlertEvaluation.reading(threshold, before, ts: point.ts, value: point.value)
                next[key] = state
                if let transition {
                    let event = AlertTransition(
                        ruleID: rule.id, device: name, state: transition, value: point.value, ts: point.ts,
                        startsAt: transition == .firing ? point.ts : before.since)
                    changes.transitions.append(record(rule, event, deviceID: point.deviceID, now: now))
                }
            }
        }
        changes.states = next.map { AlertStateChange(ruleID: $0.key.ruleID, deviceID: $0.key.deviceID, state: $0.value) }
        return changes
    }

    /// Offline rules against each device's last message, at `now`.
    func evaluateSilence(devices: [DeviceRecord], now: Int64) -> AlertChanges {
        var changes = AlertChanges()
        for rule in rules.values.sorted(by: { $0.id < $1.id }) {
            guard case .offline(let afterMs) = rule.condition else { continue }
            for device in devices where rule.watches(device: device.name) {
                let key = Key(ruleID: rule.id, deviceID: device.id)
                let before = states[key] ?? AlertSeriesState()
                let (state, transition) = AlertEvaluation.silence(afterMs: afterMs, before, lastSeen: device.lastSeen ?? 0, now: now)
                guard state != before else { continue }
                changes.states.append(AlertStateChange(ruleID: rule.id, deviceID: device.id, state: state))
                if let transition {
                    let event = AlertTransition(
                        ruleID: rule.id, device: device.name, state: transition, value: nil, ts: state.since,
                        startsAt: transition == .firing ? state.since : before.since)
                    changes.transitions.append(record(rule, event, deviceID: device.id, now: now))
                }
            }
        }
        return changes
    }

    /// When the offline rules must be looked at again, nil when the clock alone changes nothing.
    func nextSilenceCheck(devices: [DeviceRecord]) -> Int64? {
        var next: Int64?
        for rule in rules.values {
            guard case .offline(let afterMs) = rule.condition else { continue }
            for device in devices where rule.watches(device: device.name) {
                let key = Key(ruleID: rule.id, deviceID: device.id)
                if let due = AlertEvaluation.nextSilenceCheck(afterMs: afterMs, states[key] ?? AlertSeriesState(), lastSeen: device.lastSeen ?? 0) {
                    next = min(next ?? due, due)
                }
            }
        }
        return next
    }

    /// Takes the changes a successful commit stored.
    mutating func apply(_ changes: AlertChanges) {
        for change in changes.states where rules[change.ruleID] != nil {
            states[Key(ruleID: change.ruleID, deviceID: change.deviceID)] = change.state
        }
    }

    /// The transition with the webhook call it owes, its body fixed now so
    /// every attempt sends (and signs) the same bytes.
    private func record(_ rule: AlertRule, _ transition: AlertTransition, deviceID: Int64, now: Int64) -> AlertTransitionRecord {
        let shown = display(rule, device: transition.device)
        let delivery = rule.webhook.map { url in
            NewDelivery(
                url: url, secret: rule.secret,
                body: Self.json(WebhookBody(rule: rule, transition: transition, unit: shown.unit, label: shown.label)),
                idempotencyKey: UUID().uuidString.lowercased(), deadline: now + retryForMs)
        }
        return AlertTransitionRecord(deviceID: deviceID, transition: transition, delivery: delivery)
    }

    func display(_ rule: AlertRule, device: String) -> (unit: String?, label: String?) {
        guard let metric = rule.metric else { return (nil, nil) }
        return displays.display(device: device, metric: metric)
    }

    /// A transition as the stream carries it.
    func streamEvent(_ transition: AlertTransition) -> AlertStreamEvent? {
        guard let rule = rules[transition.ruleID] else { return nil }
        let shown = display(rule, device: transition.device)
        return AlertStreamEvent(rule: rule, transition: transition, unit: shown.unit, label: shown.label)
    }

    static func json<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? String(decoding: encoder.encode(value), as: UTF8.self)) ?? "{}"
    }
}
