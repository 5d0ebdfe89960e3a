public import TelehubCore

extension TelemetryStore {
    /// Each rule's state per device it has seen, with the metric's unit and
    /// label; a rule that has seen no device is listed once, `ok`. Firing
    /// first, then pending, then ok; by rule and device within each. What
    /// `GET /v1/alerts`, the stream's snapshot and `alert list` show.
    public func alertSummaries() async throws -> [AlertSummary] {
        let rules = try await alertRules()
        let states = Dictionary(grouping: try await alertStates(), by: \.ruleID)
        let displays = MetricDisplayBook(try await metricDisplays())
        func summary(_ rule: AlertRule, _ device: String?, _ state: AlertSeriesState?) -> AlertSummary {
            let shown = rule.metric.map { displays.display(device: device ?? rule.device ?? "", metric: $0) }
            return AlertSummary(rule: rule, device: device, state: state, unit: shown?.unit, label: shown?.label)
        }
        var summaries: [AlertSummary] = []
        for rule in rules {
            let seen = states[rule.id] ?? []
            if seen.isEmpty { summaries.append(summary(rule, nil, nil)) }
            for entry in seen { summaries.append(summary(rule, entry.device, entry.state)) }
        }
        let order: [AlertSeriesState.Phase: Int] = [.firing: 0, .pending: 1, .ok: 2]
        return summaries.enumerated().sorted { lhs, rhs in
            (order[lhs.element.state] ?? 3, lhs.offset) < (order[rhs.element.state] ?? 3, rhs.offset)
        }.map(\.element)
    }
}
