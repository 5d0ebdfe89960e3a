import GRDB
import TelehubCore

/// The row layout the store used before chunks, kept as the benchmark's
/// baseline: a `WITHOUT ROWID` row per value, per-minute and per-hour
/// rollup rows and latest values, all written in the commit's transaction
/// the way that store wrote them. Benchmarks only; nothing reads it back.
struct RowLayoutFixture {
    let pool: DatabasePool

    init(path: String) throws {
        var configuration = Configuration()
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        pool = try DatabasePool(path: path, configuration: configuration)
        try pool.write { db in
            try db.execute(sql: "PRAGMA cache_size = -65536")
            try db.execute(
                sql: """
                    CREATE TABLE reading (device_id INTEGER NOT NULL, metric_id INTEGER NOT NULL, ts INTEGER NOT NULL,
                        value REAL NOT NULL, PRIMARY KEY (device_id, metric_id, ts)) WITHOUT ROWID;
                    CREATE TABLE latest (device_id INTEGER NOT NULL, metric_id INTEGER NOT NULL, ts INTEGER NOT NULL,
                        value REAL NOT NULL, PRIMARY KEY (device_id, metric_id)) WITHOUT ROWID;
                    """)
            for table in ["rollup_1m", "rollup_1h"] {
                try db.execute(
                    sql: """
                        CREATE TABLE \(table) (device_id INTEGER NOT NULL, metric_id INTEGER NOT NULL, bucket INTEGER NOT NULL,
                            sum REAL NOT NULL, min REAL NOT NULL, max REAL NOT NULL, count INTEGER NOT NULL,
                            PRIMARY KEY (device_id, metric_id, bucket)) WITHOUT ROWID
                        """)
            }
        }
    }

    /// One value of one series (device and metric by id).
    struct Row {
        var device: Int64
        var metric: Int64
        var ts: Int64
        var value: Double
    }

    /// One minute or hour of one series.
    private struct Bucket: Hashable, Comparable {
        var device: Int64
        var metric: Int64
        var start: Int64

        init(_ row: Row, _ resolution: Resolution) {
            device = row.device
            metric = row.metric
            let width = resolution.milliseconds
            start = row.ts - ((row.ts % width) + width) % width
        }

        static func < (lhs: Bucket, rhs: Bucket) -> Bool {
            (lhs.device, lhs.metric, lhs.start) < (rhs.device, rhs.metric, rhs.start)
        }
    }

    /// One flush: values sorted by series and time, then rollups and latest values.
    func commit(_ rows: [Row]) async throws {
        let sorted = rows.sorted { ($0.device, $0.metric, $0.ts) < ($1.device, $1.metric, $1.ts) }
        try await pool.write { db in
            let insert = try db.cachedStatement(
                sql: """
                    INSERT INTO reading VALUES (?, ?, ?, ?)
                    ON CONFLICT (device_id, metric_id, ts) DO UPDATE SET value = excluded.value
                    """)
            var minutes: [Bucket: Aggregate] = [:]
            var hours: [Bucket: Aggregate] = [:]
            let empty = Aggregate(sum: 0, min: .infinity, max: -.infinity, count: 0)
            for row in sorted {
                try insert.execute(arguments: [row.device, row.metric, row.ts, row.value])
                minutes[Bucket(row, .minute), default: empty].merge(Aggregate(value: row.value))
                hours[Bucket(row, .hour), default: empty].merge(Aggregate(value: row.value))
            }
            for (table, aggregates) in [("rollup_1m", minutes), ("rollup_1h", hours)] {
                let upsert = try db.cachedStatement(
                    sql: """
                        INSERT INTO \(table) VALUES (?, ?, ?, ?, ?, ?, ?)
                        ON CONFLICT (device_id, metric_id, bucket) DO UPDATE SET
                            sum = sum + excluded.sum, min = min(min, excluded.min), max = max(max, excluded.max),
                            count = count + excluded.count
                        """)
                for (bucket, aggregate) in aggregates.sorted(by: { $0.key < $1.key }) {
                    try upsert.execute(arguments: [
                        bucket.device, bucket.metric, bucket.start, aggregate.sum, aggregate.min, aggregate.max, aggregate.count,
                    ])
                }
            }
            let latest = try db.cachedStatement(
                sql: """
                    INSERT INTO latest VALUES (?, ?, ?, ?)
                    ON CONFLICT (device_id, metric_id) DO UPDATE SET ts = excluded.ts, value = excluded.value
                    WHERE excluded.ts >= latest.ts
                    """)
            for (index, row) in sorted.enumerated()
            where index + 1 == sorted.count || (sorted[index + 1].device, sorted[index + 1].metric) != (row.device, row.metric) {
                try latest.execute(arguments: [row.device, row.metric, row.ts, row.value])
            }
        }
    }

    /// Reads every value back the way the row layout's export did: series by
    /// series, keyset pages of `pageSize`. - Returns: the values read.
    func exportAll(pageSize: Int = 10_000) async throws -> Int {
        try await pool.read { db in
            let series = try GRDB.Row.fetchAll(db, sql: "SELECT device_id, metric_id FROM latest ORDER BY 1, 2")
            var total = 0
            for key in series {
                var after = Int64.min
                while true {
                    let page = try GRDB.Row.fetchAll(
                        db.cachedStatement(
                            sql: "SELECT ts, value FROM reading WHERE device_id = ? AND metric_id = ? AND ts > ? ORDER BY ts LIMIT ?"),
                        arguments: [key[0], key[1], after, pageSize])
                    guard let last = page.last else { break }
                    total += page.count
                    after = last[0]
                }
            }
            return total
        }
    }

    /// File size after a checkpoint.
    func fileBytes() async throws -> Int64 {
        try await pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        return try await pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()") ?? 0
        }
    }
}
