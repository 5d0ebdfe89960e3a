/// A device as readers see it: the object of `GET /v1/devices/{name}` and of
/// each entry in a stream `snapshot`.
public struct DeviceStatus: Sendable, Equatable, Codable {
    public var name: String
    public var online: Bool
    public var lastSeen: Int64?
    public var lastSeq: Int64
    public var metrics: [String: LatestValue]

    public init(name: String, online: Bool, lastSeen: Int64?, lastSeq: Int64, metrics: [String: LatestValue]) {
        self.name = name
        self.online = online
        self.lastSeen = lastSeen
        self.lastSeq = lastSeq
        self.metrics = metrics
    }

    // Encode `lastSeen` as an explicit null so readers need not special-case a missing key.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(online, forKey: .online)
        try container.encode(lastSeen, forKey: .lastSeen)
        try container.encode(lastSeq, forKey: .lastSeq)
        try container.encode(metrics, forKey: .metrics)
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
    /// The state versions of every device that ever had desired or reported
    /// state (the others' are 0), as `event: state` carries them; in the
    /// stream's snapshot only, as `alerts` is, so `GET /v1/devices` keeps its
    /// shape, and only when some device has state, so a hub that never used
    /// state sends the snapshot of contract v1.1 unchanged.
    public var states: [SnapshotState]?

    public init(devices: [DeviceStatus], alerts: [AlertSummary]? = nil, states: [SnapshotState]? = nil) {
        self.devices = devices
        self.alerts = alerts
        self.states = states
    }
}
