public import TelehubAuth
public import TelehubCore

/// The narrow interface between the hub and its storage.
///
/// Everything the server and the CLI need from a database goes through here,
/// so a server database backend for larger fleets can replace SQLite without
/// touching the ingest path, the routes or the CLI.
public protocol TelemetryStore: Sendable {
    // MARK: Ingest

    /// Stores a whole flush in one transaction: the readings (last write wins
    /// per device, metric and `ts`), the latest values, and each device's
    /// `lastSeq` and `lastSeen`. Returns only once the data is durable.
    ///
    /// Throws `StoreUnavailable` when the store cannot write at all (locked,
    /// full, I/O error): nothing was stored and the same batch may succeed
    /// later. Any other error is about the batch's own data.
    @discardableResult
    func commit(_ batch: CommitBatch) async throws -> CommitResult

    /// The highest `seq` of the device that is durably stored, 0 if none.
    func lastSeq(deviceID: Int64) async throws -> Int64

    /// The names of the metrics the device has stored values of.
    func metricNames(deviceID: Int64) async throws -> [String]

    // MARK: Reading

    /// Every device with its latest values; `online` is left false for the
    /// caller, which knows the live sessions, to fill in.
    func deviceStatuses() async throws -> [DeviceStatus]
    func deviceStatus(named name: String) async throws -> DeviceStatus?

    /// A series' values in `[from, to]`: raw when there are at most `points`,
    /// else equal buckets built from the coarsest rollup that fits.
    /// - Returns: nil when the device never reported this metric.
    func history(device: String, metric: String, from: Int64, to: Int64, points: Int) async throws -> MetricHistory?

    // MARK: Export and backup

    /// The series an export covers, in export order.
    func exportSeries(_ filter: ExportFilter) async throws -> [ExportSeries]
    /// One page of a series' values after `after`, for streaming in constant memory.
    func exportPage(_ series: ExportSeries, _ filter: ExportFilter, after: Int64?, limit: Int) async throws
        -> [(ts: Int64, value: Double)]
    /// Writes a consistent copy of the store to `path` while it stays in use.
    func backup(to path: String) async throws

    // MARK: Retention

    /// Deletes at most `maxRows` raw rows older than `rawBefore` and rollup
    /// rows older than `rollupsBefore`, in one short transaction.
    func deleteExpired(rawBefore: Int64, rollupsBefore: Int64, maxRows: Int) async throws -> RetentionStep
    /// Deletes at most `maxRows` of the oldest raw rows (the oldest hour of data first), for a size cap.
    func deleteOldestRaw(maxRows: Int) async throws -> Int
    /// Moves at most about `maxValues` values written by an older storage
    /// layout into the current one, in one transaction; reads see both
    /// layouts meanwhile. - Returns: false once nothing is left to move.
    func migrateStep(maxValues: Int) async throws -> Bool

    /// Bytes of the store in use (excluding free pages).
    func storageBytes() async throws -> Int64

    /// Nil when a write can be made now, else why not, for `/healthz`.
    /// - Parameter probe: also write to the file (a store that just failed may
    ///   accept a transaction that writes nothing and still be full).
    func writeProblem(probe: Bool) async -> String?

    /// Ends the store's use by this process once nothing will write again:
    /// SQLite checkpoints its WAL into the database file and removes it, so
    /// a stopped hub leaves one whole file that can be copied; PostgreSQL
    /// closes its connections.
    func close() async

    // MARK: Tokens and devices

    /// Creates the device when needed and a token for it (or a read token when
    /// `device` is nil). The secret is returned once and never stored.
    func createToken(kind: TokenKind, device: String?, label: String?, expiresAt: Int64?) async throws
        -> (TokenSecret, TokenRecord)
    func tokens() async throws -> [TokenRecord]
    /// - Returns: false when no token has this id.
    func revokeToken(id: Int64) async throws -> Bool
    /// The token whose SHA-256 hash this is, with its device, whatever its state.
    func token(hash: [UInt8]) async throws -> StoredToken?
    /// Which of these tokens are revoked, expired or deleted at `now`.
    func endedTokens(among ids: Set<Int64>, at now: Int64) async throws -> Set<Int64>
    /// Stores a dashboard session: the hash of its random id, for a read token.
    func createWebSession(hash: [UInt8], tokenID: Int64, expiresAt: Int64) async throws
    /// The token behind a session that has not expired, whatever the token's state.
    func webSessionToken(hash: [UInt8], at now: Int64) async throws -> StoredToken?
    /// Ends a session (logout).
    func deleteWebSession(hash: [UInt8]) async throws
    /// Records when tokens were last used; callers coalesce these writes.
    func markTokensUsed(_ usage: [Int64: Int64]) async throws

    func devices() async throws -> [DeviceRecord]
    /// The id of the named device, created when it does not exist yet.
    func ensureDevice(named name: String) async throws -> Int64
    /// Deletes the device with its readings and tokens. - Returns: false when unknown.
    func deleteDevice(named name: String) async throws -> Bool

    /// Sets how a metric is shown (unit, label); both nil removes the setting.
    func setMetricDisplay(_ display: MetricDisplay) async throws
    func metricDisplays() async throws -> [MetricDisplay]

    // MARK: Alerts

    /// Stores a new rule (its id is assigned); throws `AlertStoreError`.
    func createAlertRule(_ rule: AlertRule) async throws -> AlertRule
    func alertRules() async throws -> [AlertRule]
    /// A number that moves, in the same transaction, with every rule created
    /// or deleted: read (one row) before every commit, so a rule applies to
    /// the first reading committed after it, while the rules themselves are
    /// read only when it moved.
    func alertRulesVersion() async throws -> Int64
    /// Deletes the rule, its state and the deliveries it still owes; history stays.
    func deleteAlertRule(id: Int64) async throws -> Bool
    func alertStates() async throws -> [StoredAlertState]
    /// Changes the clock caused (offline alerts); a commit carries the rest.
    func recordAlertChanges(_ changes: AlertChanges) async throws
    /// The newest transitions and deliveries, at most `limit` of each.
    func alertHistory(limit: Int) async throws -> (events: [AlertEventRecord], deliveries: [AlertDelivery])
    /// Pending deliveries due at `now`, oldest first. A delivery waits while
    /// an older one of the same rule and device is still owed, so a receiver
    /// never gets an alert's `resolved` before its `firing`.
    func dueDeliveries(now: Int64, limit: Int) async throws -> [AlertDelivery]
    func nextDeliveryDue() async throws -> Int64?
    func recordDeliveryOutcome(id: Int64, outcome: DeliveryOutcome) async throws
    /// Queues a dead delivery again. - Returns: false when no dead delivery has this id.
    func redeliver(id: Int64, deadline: Int64) async throws -> Bool
    func deliveryCounts() async throws -> DeliveryCounts
    /// Deletes at most `maxRows` old transitions with their deliveries, keeping those still owed.
    func deleteAlertHistory(before: Int64, maxRows: Int) async throws -> Int
    /// Devices with their last message time (`tokens` left 0), cheaply, for the offline watch.
    func deviceActivity() async throws -> [DeviceRecord]
}

/// A stored token as authentication needs it.
public struct StoredToken: Sendable, Equatable {
    public var record: TokenRecord
    public var deviceID: Int64?
    public var hash: [UInt8]

    public init(record: TokenRecord, deviceID: Int64?, hash: [UInt8]) {
        self.record = record
        self.deviceID = deviceID
        self.hash = hash
    }
}

/// One flush of the ingest actor.
public struct CommitBatch: Sendable {
    public var points: [SeriesPoint]
    public var progress: [DeviceProgress]
    /// What the points did to alert rules, stored in the same transaction.
    public var alerts: AlertChanges
    /// The commit's live events, logged in the same transaction by a store
    /// several hubs share (`SharedStream`); other stores ignore it.
    public var stream: PendingStreamEntry?

    public init(
        points: [SeriesPoint] = [], progress: [DeviceProgress] = [], alerts: AlertChanges = AlertChanges(),
        stream: PendingStreamEntry? = nil
    ) {
        self.points = points
        self.progress = progress
        self.alerts = alerts
        self.stream = stream
    }

    public var isEmpty: Bool { points.isEmpty && progress.isEmpty && alerts.isEmpty }
}

/// What a commit did besides storing the batch.
public struct CommitResult: Sendable, Equatable {
    /// Devices of the batch that no longer exist; none of their points were stored.
    public var missingDevices: Set<Int64>
    /// The positions the batch's stream entry took, when the store logged it.
    public var stream: ClosedRange<Int64>?

    public init(missingDevices: Set<Int64> = [], stream: ClosedRange<Int64>? = nil) {
        self.missingDevices = missingDevices
        self.stream = stream
    }
}

/// The store cannot write now (locked by another process, disk full, I/O
/// error): nothing of the failed call was stored, and it may succeed later.
public struct StoreUnavailable: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String

    public init(_ reason: String) { self.reason = reason }

    public var description: String { reason }
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

public enum StoreError: Error, Equatable, CustomStringConvertible {
    case invalidDeviceName(String)
    case deviceRequired
    case invalidDisplay(String)
    /// The file is another program's, corrupt, or not SQLite; it was not written to.
    case notTelehubDatabase(path: String, reason: String)
    case cannotOpen(path: String, reason: String)
    /// A metric id vanished within a transaction; never expected.
    case metricMissing(String)
    /// A chunk's bytes do not decode (changed on disk): its values cannot be read.
    case damagedChunk(id: Int64, reason: String)
    /// This store is backed up by other means (PostgreSQL: `pg_dump`); the text says how.
    case backupNotHere(String)

    public var description: String {
        switch self {
        case .notTelehubDatabase(let path, let reason):
            "\(path) is not a Telehub database (\(reason)); it was left untouched. Pass --db with another path."
        case .cannotOpen(let path, let reason): "cannot open the database \(path): \(reason)"
        case .metricMissing(let name): "metric \(name) has no id"
        case .damagedChunk(let id, let reason): "chunk \(id) of the database is damaged (\(reason)); restore it from a backup"
        case .invalidDeviceName(let name): "invalid device name \"\(name)\": use letters, digits, '.', '_' or '-' (at most 64)"
        case .deviceRequired: "a device token needs a device name"
        case .invalidDisplay(let why): why
        case .backupNotHere(let how): how
        }
    }
}
