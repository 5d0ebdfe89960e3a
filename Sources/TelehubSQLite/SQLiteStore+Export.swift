import GRDB
import TelehubCore
public import TelehubStore

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
