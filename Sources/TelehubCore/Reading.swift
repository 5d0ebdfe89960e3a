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

/// A validated `reading` or `batch` message: the unit a device sequences and
/// the hub acknowledges.
public struct IngestMessage: Sendable, Equatable {
    /// Absent only over HTTP, where `seq` is optional.
    public var seq: Int64?
    public var readings: [Reading]

    public init(seq: Int64?, readings: [Reading]) {
        self.seq = seq
        self.readings = readings
    }

    /// The number of values the message stores; limits and batching count these.
    public var valueCount: Int {
        readings.reduce(0) { $0 + $1.metrics.count }
    }
}

/// Everything a device may send, once validated.
public enum DeviceMessage: Sendable, Equatable {
    case ingest(IngestMessage)
    case ping(id: JSONValue?)
}
