/// A validated `reading` or `batch` message, or a device's answer to a
/// command (`command_ack`, `command_result`): the unit a device sequences and
/// the hub acknowledges after it is committed.
public struct IngestMessage: Sendable, Equatable {
    /// Absent over HTTP, and on a command answer sent without one.
    public var seq: Int64?
    public var readings: [Reading]
    /// Answers to commands, stored in the same transaction as the readings.
    public var commands: [CommandAnswer]
    /// A report of the device's state (`reported`).
    public var report: StateReport?

    public init(seq: Int64?, readings: [Reading], commands: [CommandAnswer] = [], report: StateReport? = nil) {
        self.seq = seq
        self.readings = readings
        self.commands = commands
        self.report = report
    }

    /// Whether the message stores anything besides its place in the sequence.
    public var carriesData: Bool { !readings.isEmpty || !commands.isEmpty || report != nil }

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
