/// A device as readers see it: the object of `GET /v1/devices/{name}` and of
/// each entry in a stream `snapshot`.
public struct DeviceStatus: Sendable, Equatable, Codable {
    public var name: String
    public var online: Bool
    public var lastSeen: Int64?
    public var lastSeq: Int64
    public var metrics: [String: LatestValue]
    /// Versions of its desired and reported state (contract v1.2); set by the hub.
    public var state: StateVersions?

    public init(
        name: String, online: Bool, lastSeen: Int64?, lastSeq: Int64, metrics: [String: LatestValue], state: StateVersions? = nil
    ) {
        self.name = name
        self.online = online
        self.lastSeen = lastSeen
        self.lastSeq = lastSeq
        self.metrics = metrics
        self.state = state
    }

    // Encode `lastSeen` as an explicit null so readers need not special-case a missing key.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(online, forKey: .online)
        try container.encode(lastSeen, forKey: .lastSeen)
        try container.encode(lastSeq, forKey: .lastSeq)
        try container.encode(metrics, forKey: .metrics)
        try container.encodeIfPresent(state, forKey: .state)
    }
}

/// The newest stored value of one metric, with how it is shown when set
/// (`telehub metric set`).
public struct LatestValue: Sendable, Equatable, Codable {
    public var ts: Int64
    public var value: Double
    public var unit: String?
    public var label: String?

    public init(ts: Int64, value: Double, unit: String? = nil, label: String? = nil) {
        self.ts = ts
        self.value = value
        self.unit = unit
        self.label = label
    }
}

/// The body of `GET /v1/devices` and of a stream `snapshot`.
public struct DeviceList: Sendable, Equatable, Codable {
    public var devices: [DeviceStatus]
    /// Every alert rule's state per device; set in the stream's snapshot only.
    public var alerts: [AlertSummary]?

    public init(devices: [DeviceStatus], alerts: [AlertSummary]? = nil) {
        self.devices = devices
        self.alerts = alerts
    }
}
