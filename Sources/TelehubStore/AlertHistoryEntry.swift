import TelehubCore

/// One entry of `alert history --json` and `GET /v1/alerts/history`: a
/// transition or a webhook delivery.
public struct AlertHistoryEntry: Sendable, Encodable {
    public var kind: String
    public var id: Int64
    public var alert: Int64
    public var ts: Int64
    public var state: String?
    public var device: String?
    public var value: Double?
    public var status: String?
    public var attempts: Int?
    public var lastError: String?
    /// Earlier transitions of the rule and device folded into this delivery, unsent.
    public var folded: Int?

    public init(_ event: AlertEventRecord) {
        kind = "transition"
        id = event.id
        alert = event.transition.ruleID
        ts = event.transition.ts
        state = event.transition.state.rawValue
        device = event.transition.device
        value = event.transition.value
    }

    public init(_ delivery: AlertDelivery) {
        kind = "delivery"
        id = delivery.id
        alert = delivery.ruleID
        ts = delivery.updatedAt
        status = delivery.status.rawValue
        attempts = delivery.attempts
        lastError = delivery.lastError
        folded = delivery.folded
        device = delivery.device
    }

    /// Both kinds, newest first (a transition before the delivery it caused), at most `limit`.
    public static func merged(events: [AlertEventRecord], deliveries: [AlertDelivery], limit: Int) -> [AlertHistoryEntry] {
        Array((events.map(AlertHistoryEntry.init) + deliveries.map(AlertHistoryEntry.init))
            .sorted { ($0.ts, $0.kind == "delivery" ? 1 : 0, $0.id) > ($1.ts, $1.kind == "delivery" ? 1 : 0, $1.id) }
            .prefix(limit))
    }

    enum CodingKeys: String, CodingKey { case kind, id, alert, ts, state, value, device, status, attempts, lastError, folded }

    /// A transition's keys, or a delivery's, with null written out as the contract shows.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(kind, forKey: .kind)
        try container.encode(id, forKey: .id)
        try container.encode(alert, forKey: .alert)
        try container.encode(ts, forKey: .ts)
        if kind == "transition" {
            try container.encode(state, forKey: .state)
            try container.encode(value, forKey: .value)
            try container.encode(device, forKey: .device)
        } else {
            try container.encode(status, forKey: .status)
            try container.encode(attempts, forKey: .attempts)
            try container.encode(lastError, forKey: .lastError)
            try container.encode(folded ?? 0, forKey: .folded)
            if let device, !device.isEmpty { try container.encode(device, forKey: .device) }
        }
    }
}
