/// One named value of a reading. Booleans arrive as 1 and 0.
public struct MetricValue: Sendable, Equatable {
    public var name: String
    public var value: Double

    public init(name: String, value: Double) {
        self.name = name
        self.value = value
    }
}

/// The values a device measured at one instant.
public struct Reading: Sendable, Equatable {
    /// Milliseconds since the Unix epoch.
    public var ts: Int64
    public var metrics: [MetricValue]

    public init(ts: Int64, metrics: [MetricValue]) {
        self.ts = ts
        self.metrics = metrics
    }
}

/// A reading as the contract writes it: `{"ts":…,"metrics":{"name":value,…}}`.
/// Decoding this way checks only the shape; a device message's readings are
/// checked against the bounds by `DeviceMessage`'s decoding.
extension Reading: Codable {
    private enum CodingKeys: String, CodingKey {
        case ts, metrics
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let metrics = try container.decode([String: Double].self, forKey: .metrics)
        self.init(
            ts: try container.decode(Int64.self, forKey: .ts),
            metrics: metrics.sorted { $0.key < $1.key }.map { MetricValue(name: $0.key, value: $0.value) })
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(ts, forKey: .ts)
        var object = container.nestedContainer(keyedBy: WireKey.self, forKey: .metrics)
        for metric in metrics {
            try object.encode(metric.value, forKey: WireKey(stringValue: metric.name))
        }
    }
}
