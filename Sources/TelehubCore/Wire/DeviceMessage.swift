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
    case ping(id: PingID?)
}
