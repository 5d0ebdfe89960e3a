public import TelehubCore

/// One flush of the ingest actor.
public struct CommitBatch: Sendable {
    public var points: [SeriesPoint]
    public var progress: [DeviceProgress]
    /// What the points did to alert rules, stored in the same transaction.
    public var alerts: AlertChanges
    /// The commit's live events, logged in the same transaction by a store
    /// several hubs share (`SharedStream`); other stores ignore it.
    public var stream: PendingStreamEntry?
    /// Devices' answers to commands, applied where the lifecycle allows.
    public var commands: [CommandChange]
    /// Devices' reports of their state, merged in order.
    public var reports: [PendingReport]

    public init(
        points: [SeriesPoint] = [], progress: [DeviceProgress] = [], alerts: AlertChanges = AlertChanges(),
        stream: PendingStreamEntry? = nil, commands: [CommandChange] = [], reports: [PendingReport] = []
    ) {
        self.points = points
        self.progress = progress
        self.alerts = alerts
        self.stream = stream
        self.commands = commands
        self.reports = reports
    }

    public var isEmpty: Bool { points.isEmpty && progress.isEmpty && alerts.isEmpty && commands.isEmpty && reports.isEmpty }
}

/// What a commit did besides storing the batch.
public struct CommitResult: Sendable, Equatable {
    /// Devices of the batch that no longer exist; none of their points were stored.
    public var missingDevices: Set<Int64>
    /// The positions the batch's stream entry took, when the store logged it.
    public var stream: ClosedRange<Int64>?
    /// The commands the batch's answers changed, as they are now.
    public var commands: [CommandRecord]
    /// The state of each device whose report the batch stored, by device id.
    public var states: [Int64: DeviceState]

    public init(
        missingDevices: Set<Int64> = [], stream: ClosedRange<Int64>? = nil, commands: [CommandRecord] = [],
        states: [Int64: DeviceState] = [:]
    ) {
        self.missingDevices = missingDevices
        self.stream = stream
        self.commands = commands
        self.states = states
    }
}

/// One value of one series. Later points with the same key win.
public struct SeriesPoint: Sendable, Equatable {
    public var deviceID: Int64
    public var metric: String
    public var ts: Int64
    public var value: Double

    public init(deviceID: Int64, metric: String, ts: Int64, value: Double) {
        self.deviceID = deviceID
        self.metric = metric
        self.ts = ts
        self.value = value
    }
}

/// What a flush advances for a device.
public struct DeviceProgress: Sendable, Equatable {
    public var deviceID: Int64
    public var lastSeq: Int64?
    public var lastSeen: Int64

    public init(deviceID: Int64, lastSeq: Int64?, lastSeen: Int64) {
        self.deviceID = deviceID
        self.lastSeq = lastSeq
        self.lastSeen = lastSeen
    }
}
