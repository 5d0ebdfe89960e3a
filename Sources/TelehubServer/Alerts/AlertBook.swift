import Foundation
import TelehubCore
import TelehubStore

/// The rules the hub evaluates and where each stands per device: a plain
/// value its owner (the ingest actor, or the offline watch) keeps.
/// `evaluate` works on a copy and returns what changed; the owner stores the
/// changes with the readings and only then `apply`s them, so a failed commit
/// leaves the book as it was.
///
/// Threshold rules are grouped by metric, and each device's states for a
/// group sit in one array, so a point costs one lookup by metric and one by
/// series. A series whose rules are all `ok` holds no state at all, and a
/// value that meets none of its group's conditions is passed over with two
/// comparisons. 100 rules on every device cost 1–2% of the hub's CPU per
/// value when values stay clear of their limits, about a third when noise
/// keeps crossing them; it was 3.3x the CPU when every rule looked up,
/// copied and wrote its own state for every point
/// (`telehub bench --ingest --sections alerts`, BENCHMARKS.md).
struct AlertBook: Sendable {
    struct Key: Hashable, Sendable {
        var ruleID: Int64
        var deviceID: Int64
    }

    /// One metric's threshold rules.
    struct Group: Sendable {
        var rules: [AlertRule]
        var thresholds: [Threshold]
        /// Per rule, what a point needs (copying whole rules per point cost a tenth of ingest).
        var ruleIDs: [Int64] = []
        var devices: [String?] = []
        /// The lowest `above` limit and the highest `below` limit: a value
        /// between them (inclusive) meets no rule of the group.
        var lowestAbove = Double.infinity
        var highestBelow = -Double.infinity

        func anyHolds(_ value: Double) -> Bool { value > lowestAbove || value < highestBelow }
    }

    struct Series: Hashable, Sendable {
        var deviceID: Int64
        var group: Int
    }

    /// A rule's state for one series, and what the store has of it.
    struct Held: Sendable, Equatable {
        var state = AlertSeriesState()
        var stored = AlertSeriesState()
        /// The newest reading time evaluated.
        var lastTs: Int64 = 0

        /// Whether the store must hear of the state now. A pending run is
        /// written once it is `pendingCheckpointMs` old by reading time:
        /// values that cross a limit back and forth (noise) would otherwise
        /// rewrite every rule's state on every commit (3.6x the ingest CPU in
        /// `telehub bench --ingest --sections alerts`), and a crash delays a
        /// `--for` alert by at most that much.
        var needsStoring: Bool {
            guard state.phase != stored.phase || state.since != stored.since else { return false }
            switch state.phase {
            case .pending: return lastTs - state.since >= AlertBook.pendingCheckpointMs
            case .ok: return stored.phase != .ok
            case .firing: return true
            }
        }
    }

    static let pendingCheckpointMs: Int64 = 1000

    /// What `evaluate` found: the changes to store, and the series' new states to `apply` after.
    struct Evaluation: Sendable {
        var changes = AlertChanges()
        fileprivate var working: [Series: [Held]] = [:]
    }

    private(set) var rules: [Int64: AlertRule] = [:]
    private var groupOfMetric: [String: Int] = [:]
    /// The groups' metrics in group order, scanned instead of hashed when
    /// there are few: most metric names are small strings, whose equality
    /// is two word compares, cheaper than hashing one per point.
    private var groupMetrics: [String] = []
    private var groups: [Group] = []
    /// Series with a rule not `ok`; the others are all `ok`, in memory and in the store.
    private var series: [Series: [Held]] = [:]
    /// Offline rules' states.
    private var silence: [Key: AlertSeriesState] = [:]
    /// How long a delivery is retried before it becomes a dead letter (`webhook-retry-for`).
    let retryForMs: Int64
    /// Units and labels, for what people read (webhooks, the stream).
    var displays = MetricDisplayBook()

    init(retryForMs: Int64) {
        self.retryForMs = retryForMs
    }

    var isEmpty: Bool { rules.isEmpty }
    var hasThresholdRules: Bool { !groups.isEmpty }

    /// A rule's state for a device (tests, and reloading).
    func state(ruleID: Int64, deviceID: Int64) -> AlertSeriesState? {
        if let state = silence[Key(ruleID: ruleID, deviceID: deviceID)] { return state }
        guard let rule = rules[ruleID], let metric = rule.metric, let group = groupOfMetric[metric],
            let index = groups[group].rules.firstIndex(where: { $0.id == ruleID })
        else { return nil }
        return series[Series(deviceID: deviceID, group: group)]?[index].state
    }

    /// Every state held, by rule and device.
    var states: [Key: AlertSeriesState] {
        var all = silence
        for (key, states) in series {
            for (index, rule) in groups[key.group].rules.enumerated() {
                all[Key(ruleID: rule.id, deviceID: key.deviceID)] = states[index].state
            }
        }
        return all
    }

    /// Replaces the rules (as read from the store), keeping the state of
    /// those that remain and taking stored state for the others.
    mutating func load(rules newRules: [AlertRule], stored: [StoredAlertState]) {
        var kept = states.filter { key, _ in newRules.contains { $0.id == key.ruleID } }
        let known = Set(rules.keys)
        for entry in stored where !known.contains(entry.ruleID) && newRules.contains(where: { $0.id == entry.ruleID }) {
            kept[Key(ruleID: entry.ruleID, deviceID: entry.deviceID)] = entry.state
        }
        rules = Dictionary(uniqueKeysWithValues: newRules.map { ($0.id, $0) })
        groupOfMetric = [:]
        groupMetrics = []
        groups = []
        for rule in newRules {
            guard case .threshold(let threshold) = rule.condition, let metric = rule.metric else { continue }
            let index = groupOfMetric[metric] ?? {
                groups.append(Group(rules: [], thresholds: []))
                groupMetrics.append(metric)
                groupOfMetric[metric] = groups.count - 1
                return groups.count - 1
            }()
            groups[index].rules.append(rule)
            groups[index].thresholds.append(threshold)
            groups[index].ruleIDs.append(rule.id)
            groups[index].devices.append(rule.device)
            switch threshold.direction {
            case .above: groups[index].lowestAbove = min(groups[index].lowestAbove, threshold.limit)
            case .below: groups[index].highestBelow = max(groups[index].highestBelow, threshold.limit)
            }
        }
        series = [:]
        silence = [:]
        for (key, state) in kept where state.phase != .ok || rules[key.ruleID]?.metric == nil {
            guard let rule = rules[key.ruleID] else { continue }
            if case .offline = rule.condition {
                silence[key] = state
            } else if let metric = rule.metric, let group = groupOfMetric[metric],
                let index = groups[group].rules.firstIndex(where: { $0.id == rule.id })
            {
                let slot = Series(deviceID: key.deviceID, group: group)
                var states = series[slot] ?? Array(repeating: Held(), count: groups[group].rules.count)
                states[index] = Held(state: state, stored: state, lastTs: state.since)
                series[slot] = states
            }
        }
    }

    /// The points of one commit, in commit order.
    /// - Parameter deviceName: the name of a device id (transitions carry names).
    func evaluate(_ points: [SeriesPoint], deviceName: (Int64) -> String?, now: Int64) -> Evaluation {
        var result = Evaluation()
        guard !groups.isEmpty else { return result }
        var persist: Set<Key> = []
        let scan = groupMetrics.count <= 8
        for point in points {
            guard let groupIndex = scan ? groupMetrics.firstIndex(of: point.metric) : groupOfMetric[point.metric] else { continue }
            let slot = Series(deviceID: point.deviceID, group: groupIndex)
            var states: [Held]
            // Taken out of `working` while it changes, so the array is not copied for every point.
            if let held = result.working.removeValue(forKey: slot) ?? series[slot] {
                states = held
            } else {
                // Every rule of the series is ok: only a value that meets one can change that.
                guard groups[groupIndex].anyHolds(point.value) else { continue }
                states = Array(repeating: Held(), count: groups[groupIndex].rules.count)
            }
            let group = groups[groupIndex]
            var name: String?
            for index in group.ruleIDs.indices {
                if group.devices[index] != nil {
                    name = name ?? deviceName(point.deviceID)
                    guard group.devices[index] == name else { continue }
                }
                let before = states[index].state
                let (after, transition) = AlertEvaluation.reading(group.thresholds[index], before, ts: point.ts, value: point.value)
                states[index].state = after
                states[index].lastTs = max(states[index].lastTs, point.ts)
                // The value alone is kept in memory; the store hears of changes of phase (see `Held`).
                if states[index].needsStoring {
                    states[index].stored = after
                    persist.insert(Key(ruleID: group.ruleIDs[index], deviceID: point.deviceID))
                }
                if let transition, let device = name ?? deviceName(point.deviceID) {
                    name = device
                    let event = AlertTransition(
                        ruleID: group.ruleIDs[index], device: device, state: transition, value: point.value, ts: point.ts,
                        startsAt: transition == .firing ? point.ts : before.since)
                    result.changes.transitions.append(record(group.rules[index], event, deviceID: point.deviceID, now: now))
                }
            }
            result.working[slot] = states
        }
        result.changes.states = persist.compactMap { key in
            guard let rule = rules[key.ruleID], let metric = rule.metric, let group = groupOfMetric[metric],
                let index = groups[group].rules.firstIndex(where: { $0.id == key.ruleID }),
                let state = result.working[Series(deviceID: key.deviceID, group: group)]?[index].stored
            else { return nil }
            return AlertStateChange(ruleID: key.ruleID, deviceID: key.deviceID, state: state)
        }
        return result
    }

    /// Takes a stored evaluation's states; series of `missing` devices (deleted meanwhile) are dropped.
    mutating func apply(_ evaluation: Evaluation, missing: Set<Int64> = []) {
        for (slot, states) in evaluation.working {
            if missing.contains(slot.deviceID) || states.allSatisfy({ $0.state.phase == .ok && $0.stored.phase == .ok }) {
                series[slot] = nil  // all ok: nothing to hold
            } else {
                series[slot] = states
            }
        }
    }

    /// Offline rules against each device's last message, at `now`.
    func evaluateSilence(devices: [DeviceRecord], now: Int64) -> AlertChanges {
        var changes = AlertChanges()
        for rule in rules.values.sorted(by: { $0.id < $1.id }) {
            guard case .offline(let afterMs) = rule.condition else { continue }
            for device in devices where rule.watches(device: device.name) {
                let key = Key(ruleID: rule.id, deviceID: device.id)
                let before = silence[key] ?? AlertSeriesState()
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

    /// Takes the offline watch's stored changes.
    mutating func applySilence(_ changes: AlertChanges) {
        for change in changes.states where rules[change.ruleID] != nil {
            silence[Key(ruleID: change.ruleID, deviceID: change.deviceID)] = change.state
        }
    }

    /// The transition with the webhook call it owes, its body fixed now so
    /// every attempt sends (and signs) the same bytes.
    private func record(_ rule: AlertRule, _ transition: AlertTransition, deviceID: Int64, now: Int64) -> AlertTransitionRecord {
        let shown = display(rule, device: transition.device)
        let delivery = rule.webhook.map { url in
            NewDelivery(
                url: url, secret: rule.secret,
                body: JSONEncoder.wireText(WebhookBody(rule: rule, transition: transition, unit: shown.unit, label: shown.label)),
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
}
