import GRDB
public import TelehubCore

extension SQLiteStore {
    public func history(device: String, metric: String, from: Int64, to: Int64, points: Int) async throws
        -> MetricHistory?
    {
        try await pool.read { db in
            guard let series = try Self.series(device: device, metric: metric, db) else { return nil }
            return try Self.history(series, from: from, to: to, points: points, upTo: .hour, db)
        }
    }

    /// The same answer computed from raw rows only, for benchmarks and tests
    /// that compare the rollups against it.
    public func historyFromRawRows(device: String, metric: String, from: Int64, to: Int64, points: Int) async throws
        -> MetricHistory?
    {
        try await pool.read { db in
            guard let series = try Self.series(device: device, metric: metric, db) else { return nil }
            return try Self.history(series, from: from, to: to, points: points, upTo: .raw, db)
        }
    }

    struct Series {
        var deviceID: Int64
        var metricID: Int64
    }

    /// The ids of a series the device has reported, or nil.
    static func series(device: String, metric: String, _ db: Database) throws -> Series? {
        let row = try GRDB.Row.fetchOne(
            db,
            sql: """
                SELECT l.device_id, l.metric_id FROM latest l
                JOIN device d ON d.id = l.device_id JOIN metric m ON m.id = l.metric_id
                WHERE d.name = ? AND m.name = ?
                """, arguments: [device, metric])
        return row.map { Series(deviceID: $0[0], metricID: $0[1]) }
    }

    static func history(_ series: Series, from: Int64, to: Int64, points: Int, upTo coarsest: Resolution, _ db: Database)
        throws -> MetricHistory
    {
        let count = try TimeSegment.cover(from: from, to: to, upTo: coarsest).reduce(0) {
            $0 + (try countValues(series, $1, db))
        }
        if count <= points {
            return .raw(try rawPoints(series, from: from, to: to, db))
        }
        let plan = BucketPlan(from: from, to: to, points: points)
        var buckets: [Int64: Aggregate] = [:]
        for segment in TimeSegment.cover(from: from, to: to, upTo: min(plan.resolution, coarsest)) {
            for (index, aggregate) in try aggregate(series, segment, plan, db) {
                buckets[index, default: Aggregate(sum: 0, min: .infinity, max: -.infinity, count: 0)].merge(aggregate)
            }
        }
        return .buckets(
            step: plan.step,
            buckets.sorted { $0.key < $1.key }.map { (plan.start(ofBucket: $0.key), $0.value) })
    }

    private static func countValues(_ series: Series, _ segment: TimeSegment, _ db: Database) throws -> Int {
        let (table, column, count) = source(segment.resolution)
        return try Int.fetchOne(
            db,
            sql: """
                SELECT coalesce(\(count), 0) FROM \(table)
                WHERE device_id = ? AND metric_id = ? AND \(column) BETWEEN ? AND ?
                """,
            arguments: [series.deviceID, series.metricID, segment.from, segment.to]) ?? 0
    }

    private static func rawPoints(_ series: Series, from: Int64, to: Int64, _ db: Database) throws
        -> [(ts: Int64, value: Double)]
    {
        try GRDB.Row.fetchAll(
            db,
            sql: """
                SELECT ts, value FROM reading WHERE device_id = ? AND metric_id = ? AND ts BETWEEN ? AND ? ORDER BY ts
                """,
            arguments: [series.deviceID, series.metricID, from, to]
        ).map { (ts: $0[0], value: $0[1]) }
    }

    private static func aggregate(_ series: Series, _ segment: TimeSegment, _ plan: BucketPlan, _ db: Database) throws
        -> [(Int64, Aggregate)]
    {
        let (table, column, _) = source(segment.resolution)
        let values =
            segment.resolution == .raw
            ? "sum(value), min(value), max(value), count(*)" : "sum(sum), min(min), max(max), sum(count)"
        return try GRDB.Row.fetchAll(
            db,
            sql: """
                SELECT (\(column) - ?) / ? AS k, \(values) FROM \(table)
                WHERE device_id = ? AND metric_id = ? AND \(column) BETWEEN ? AND ? GROUP BY k
                """,
            arguments: [plan.origin, plan.step, series.deviceID, series.metricID, segment.from, segment.to]
        ).compactMap { row in
            // A file written before values were bounded may hold a sum that
            // overflowed (SQLite turns inf − inf into NULL): leave such a bucket out.
            guard let sum: Double = row[1], let min: Double = row[2], let max: Double = row[3] else { return nil }
            return (row[0], Aggregate(sum: sum, min: min, max: max, count: row[4]))
        }
    }

    /// Table, time column and count expression of a resolution.
    private static func source(_ resolution: Resolution) -> (String, String, String) {
        switch resolution {
        case .raw: ("reading", "ts", "count(*)")
        case .minute: ("rollup_1m", "bucket", "sum(count)")
        case .hour: ("rollup_1h", "bucket", "sum(count)")
        }
    }
}
