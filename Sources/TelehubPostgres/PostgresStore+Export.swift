import PostgresNIO
public import TelehubStore

extension PostgresStore {
    public func exportSeries(_ filter: ExportFilter) async throws -> [ExportSeries] {
        try await read { sql in
            try await sql.rows(
                """
                SELECT d.name, m.name, l.device_id, l.metric_id FROM latest l
                JOIN device d ON d.id = l.device_id JOIN metric m ON m.id = l.metric_id
                ORDER BY d.name COLLATE "C", m.name COLLATE "C"
                """, as: (String, String, Int64, Int64).self
            ).map { ExportSeries(device: $0, metric: $1, deviceID: $2, metricID: $3) }
                .filter { (filter.devices?.contains($0.device) ?? true) && (filter.metrics?.contains($0.metric) ?? true) }
        }
    }

    /// Keyset pages on the primary key: each page is one index range scan, so
    /// an export of any size holds one page in memory here and on the server.
    public func exportPage(_ series: ExportSeries, _ filter: ExportFilter, after: Int64?, limit: Int) async throws
        -> [(ts: Int64, value: Double)]
    {
        let start = after.map { max($0 + 1, filter.from) } ?? filter.from
        return try await read { sql in
            try await sql.rows(
                """
                SELECT ts, value FROM reading WHERE device_id = \(series.deviceID) AND metric_id = \(series.metricID)
                AND ts >= \(start) AND ts <= \(filter.to) ORDER BY ts LIMIT \(limit)
                """, as: (Int64, Double).self
            ).map { (ts: $0.0, value: $0.1) }
        }
    }
}
