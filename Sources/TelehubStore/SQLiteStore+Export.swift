import GRDB
public import TelehubCore

/// Which readings an export holds; nil means all.
public struct ExportFilter: Sendable, Equatable {
    public var devices: Set<String>?
    public var metrics: Set<String>?
    public var from: Int64
    public var to: Int64

    public init(devices: Set<String>? = nil, metrics: Set<String>? = nil, from: Int64? = nil, to: Int64? = nil) {
        self.devices = devices
        self.metrics = metrics
        self.from = from ?? .min
        self.to = to ?? .max
    }

    /// The filter of a validated export query.
    public init(_ query: ExportQuery) {
        self.init(devices: query.devices, metrics: query.metrics, from: query.from, to: query.to)
    }
}

/// One series of an export, in export order (device, then metric).
public struct ExportSeries: Sendable, Equatable {
    public var device: String
    public var metric: String
    package var deviceID: Int64
    package var metricID: Int64

    package init(device: String, metric: String, deviceID: Int64, metricID: Int64) {
        self.device = device
        self.metric = metric
        self.deviceID = deviceID
        self.metricID = metricID
    }
}

extension SQLiteStore {
    public func exportSeries(_ filter: ExportFilter) async throws -> [ExportSeries] {
        try await pool.read { db in
            try GRDB.Row.fetchAll(
                db,
                sql: """
                    SELECT d.name, m.name, l.device_id, l.metric_id FROM latest l
                    JOIN device d ON d.id = l.device_id JOIN metric m ON m.id = l.metric_id
                    ORDER BY d.name, m.name
                    """
            ).map { ExportSeries(device: $0[0], metric: $0[1], deviceID: $0[2], metricID: $0[3]) }
                .filter { (filter.devices?.contains($0.device) ?? true) && (filter.metrics?.contains($0.metric) ?? true) }
        }
    }

    /// Up to `limit` values of a series after `after` (exclusive) within the
    /// filter's range: keyset pages, so an export of any size holds one page.
    public func exportPage(_ series: ExportSeries, _ filter: ExportFilter, after: Int64?, limit: Int) async throws
        -> [(ts: Int64, value: Double)]
    {
        let start = after.map { max($0 + 1, filter.from) } ?? filter.from
        return try await pool.read { db in
            try ChunkReader.values(
                SeriesKey(deviceID: series.deviceID, metricID: series.metricID), from: start, to: filter.to, limit: limit, db)
        }
    }

    /// A consistent copy of the whole database at `path`, taken with SQLite's
    /// online backup API from a reader: ingest goes on meanwhile.
    public func backup(to path: String) async throws {
        let destination = try DatabaseQueue(path: path)
        try pool.backup(to: destination)
        try destination.close()
    }
}
