/// The alert shapes of contract v1.1 ("Alerts") as they go on the wire:
/// `GET /v1/alerts`, the stream's `event: alert`, and the webhook body.

/// One rule's state for one device, as `GET /v1/alerts` and the snapshot list it.
public struct AlertSummary: Sendable, Equatable, Codable {
    public var id: Int64
    public var name: String
    public var device: String?
    public var metric: String?
    public var severity: AlertRule.Severity
    public var condition: String
    public var state: AlertSeriesState.Phase
    /// When the state began; nil while the rule has seen nothing.
    public var since: Int64?
    public var value: Double?
    /// The metric's unit and label (`telehub metric set`), when set.
    public var unit: String?
    public var label: String?

    public init(rule: AlertRule, device: String?, state: AlertSeriesState?, unit: String? = nil, label: String? = nil) {
        id = rule.id
        name = rule.name
        self.device = device ?? rule.device
        metric = rule.metric
        severity = rule.severity
        condition = rule.condition.text(unit: unit)
        self.state = state?.phase ?? .ok
        since = state.flatMap { $0.since > 0 ? $0.since : nil }
        value = state?.value
        self.unit = unit
        self.label = label
    }

    enum CodingKeys: String, CodingKey { case id, name, device, metric, severity, condition, state, since, value, unit, label }

    /// Every key is written, null included, so clients see one shape.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(name, forKey: .name)
        try container.encode(device, forKey: .device)
        try container.encode(metric, forKey: .metric)
        try container.encode(severity, forKey: .severity)
        try container.encode(condition, forKey: .condition)
        try container.encode(state, forKey: .state)
        try container.encode(since, forKey: .since)
        try container.encode(value, forKey: .value)
        try container.encodeIfPresent(unit, forKey: .unit)
        try container.encodeIfPresent(label, forKey: .label)
    }
}

/// `GET /v1/alerts`.
public struct AlertList: Sendable, Equatable, Codable {
    public var alerts: [AlertSummary]

    public init(alerts: [AlertSummary]) { self.alerts = alerts }
}

/// `event: alert` on the stream: a transition.
public struct AlertStreamEvent: Sendable, Equatable, Codable {
    public var id: Int64
    public var name: String
    public var device: String
    public var metric: String?
    public var state: AlertTransition.State
    public var value: Double?
    public var ts: Int64
    public var unit: String?
    public var label: String?

    public init(rule: AlertRule, transition: AlertTransition, unit: String? = nil, label: String? = nil) {
        id = rule.id
        name = rule.name
        device = transition.device
        metric = rule.metric
        state = transition.state
        value = transition.value
        ts = transition.ts
        self.unit = unit
        self.label = label
    }

    enum CodingKeys: String, CodingKey { case id, name, device, metric, state, value, ts, unit, label }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(name, forKey: .name)
        try container.encode(device, forKey: .device)
        try container.encode(metric, forKey: .metric)
        try container.encode(state, forKey: .state)
        try container.encode(value, forKey: .value)
        try container.encode(ts, forKey: .ts)
        try container.encodeIfPresent(unit, forKey: .unit)
        try container.encodeIfPresent(label, forKey: .label)
    }
}

/// The JSON a webhook receives for a transition.
public struct WebhookBody: Sendable, Equatable, Codable {
    public struct Alert: Sendable, Equatable, Codable {
        public var id: Int64
        public var name: String
        public var device: String
        public var metric: String?
        public var severity: AlertRule.Severity
        public var condition: String
        public var unit: String?
        public var label: String?

        enum CodingKeys: String, CodingKey { case id, name, device, metric, severity, condition, unit, label }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try container.encode(name, forKey: .name)
            try container.encode(device, forKey: .device)
            try container.encode(metric, forKey: .metric)
            try container.encode(severity, forKey: .severity)
            try container.encode(condition, forKey: .condition)
            try container.encodeIfPresent(unit, forKey: .unit)
            try container.encodeIfPresent(label, forKey: .label)
        }
    }

    public var status: AlertTransition.State
    public var alert: Alert
    public var value: Double?
    public var ts: Int64
    public var startsAt: Int64
    /// Set when resolved.
    public var endsAt: Int64?

    public init(rule: AlertRule, transition: AlertTransition, unit: String? = nil, label: String? = nil) {
        status = transition.state
        alert = Alert(
            id: rule.id, name: rule.name, device: transition.device, metric: rule.metric, severity: rule.severity,
            condition: rule.condition.text(unit: unit), unit: unit, label: label)
        value = transition.value
        ts = transition.ts
        startsAt = transition.startsAt
        endsAt = transition.state == .resolved ? transition.ts : nil
    }

    enum CodingKeys: String, CodingKey { case status, alert, value, ts, startsAt, endsAt }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(status, forKey: .status)
        try container.encode(alert, forKey: .alert)
        try container.encode(value, forKey: .value)
        try container.encode(ts, forKey: .ts)
        try container.encode(startsAt, forKey: .startsAt)
        try container.encodeIfPresent(endsAt, forKey: .endsAt)
    }
}
