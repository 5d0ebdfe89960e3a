public import Foundation
import GRDB
import TelehubCore

/// The store's own figures, for `telehub bench`: insert rate and bytes per
/// value against a bare table in the same run, and a month's history from
/// the rollups against the same answer computed from raw rows.
public struct StoreBenchmark: Sendable {
    public struct InsertResult: Sendable {
        public var values: Int
        public var seconds: Double
        public var baselineSeconds: Double
        public var bytesPerValue: Double
        public var baselineBytesPerValue: Double
    }

    public struct QueryResult: Sendable {
        public var values: Int
        public var buckets: Int
        public var rollupMs: Double
        public var rawMs: Double
        /// Retention deleting the oldest day in steps of 5,000 rows: how many steps and the longest.
        public var retentionSteps: Int
        public var longestRetentionStepMs: Double
    }

    let directory: URL

    public init(directory: URL) {
        self.directory = directory
    }

    /// `devices` × `metrics` series at 1 Hz, arriving as readings do
    /// (all metrics of a device per second, devices interleaved), committed
    /// in flushes of `flushValues`.
    public func insert(devices: Int, metrics: Int, seconds: Int, flushValues: Int = 5000) async throws -> InsertResult {
        let store = try SQLiteStore(path: directory.appendingPathComponent("insert.sqlite").path)
        var ids: [Int64] = []
        for device in 0..<devices { ids.append(try await store.ensureDevice(named: "bench-\(device)")) }
        let start: Int64 = 1_700_000_000_000
        var batch: [SeriesPoint] = []
        var rows: [(Int64, Int64, Int64, Double)] = []
        let clock = ContinuousClock()
        let elapsed = try await clock.measure {
            for second in 0..<seconds {
                for (index, id) in ids.enumerated() {
                    for metric in 0..<metrics {
                        let value = Double((second * 7 + index * 3 + metric) % 1000) / 10
                        batch.append(SeriesPoint(deviceID: id, metric: "m\(metric)", ts: start + Int64(second) * 1000, value: value))
                    }
                }
                if batch.count >= flushValues {
                    try await store.commit(CommitBatch(points: batch))
                    batch.removeAll(keepingCapacity: true)
                }
            }
            try await store.commit(CommitBatch(points: batch))
        }
        let values = devices * metrics * seconds
        for second in 0..<seconds {
            for id in ids.indices {
                for metric in 0..<metrics {
                    rows.append((Int64(id + 1), Int64(metric + 1), start + Int64(second) * 1000, Double(second % 1000) / 10))
                }
            }
        }
        let (baseline, baselineBytes) = try await bareInsert(rows, flushValues: flushValues)
        return InsertResult(
            values: values, seconds: elapsed.seconds, baselineSeconds: baseline.seconds,
            bytesPerValue: Double(try await fileBytes(store)) / Double(values),
            baselineBytesPerValue: Double(baselineBytes) / Double(values))
    }

    /// The same rows into a bare `WITHOUT ROWID` table, same flush size, no
    /// rollups or latest values: the floor the store is measured against.
    private func bareInsert(_ rows: [(Int64, Int64, Int64, Double)], flushValues: Int) async throws -> (Duration, Int64) {
        var configuration = Configuration()
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        let pool = try DatabasePool(path: directory.appendingPathComponent("bare.sqlite").path, configuration: configuration)
        try await pool.write { db in
            try db.execute(sql: "PRAGMA cache_size = -65536")
            try db.execute(sql: """
                CREATE TABLE reading (device_id INTEGER NOT NULL, metric_id INTEGER NOT NULL, ts INTEGER NOT NULL,
                value REAL NOT NULL, PRIMARY KEY (device_id, metric_id, ts)) WITHOUT ROWID
                """)
        }
        let elapsed = try await ContinuousClock().measure {
            for chunk in stride(from: 0, to: rows.count, by: flushValues) {
                let sorted = rows[chunk..<min(chunk + flushValues, rows.count)].sorted { ($0.0, $0.1, $0.2) < ($1.0, $1.1, $1.2) }
                try await pool.write { db in
                    let statement = try db.cachedStatement(sql: "INSERT OR REPLACE INTO reading VALUES (?, ?, ?, ?)")
                    for row in sorted {
                        statement.setUncheckedArguments([row.0, row.1, row.2, row.3])
                        try statement.execute()
                    }
                }
            }
        }
        try await pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        let bytes = try await pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()") ?? 0
        }
        return (elapsed, bytes)
    }

    /// One series at 1 Hz for `days`, then `buckets` buckets over the whole range, `repeats` times each way.
    public func history(days: Int, buckets: Int, repeats: Int = 15) async throws -> QueryResult {
        let store = try SQLiteStore(path: directory.appendingPathComponent("history.sqlite").path)
        let id = try await store.ensureDevice(named: "bench")
        let end: Int64 = 1_700_000_000_000
        let seconds = days * 86_400
        let start = end - Int64(seconds) * 1000
        var batch: [SeriesPoint] = []
        batch.reserveCapacity(10_000)
        for second in 0..<seconds {
            let value = 20 + 5 * sin(Double(second) / 86_400 * 2 * .pi) + Double(second % 13) / 10
            batch.append(SeriesPoint(deviceID: id, metric: "temperature", ts: start + Int64(second) * 1000, value: value))
            if batch.count == 10_000 {
                try await store.commit(CommitBatch(points: batch))
                batch.removeAll(keepingCapacity: true)
            }
        }
        try await store.commit(CommitBatch(points: batch))
        var rollup: [Double] = []
        var raw: [Double] = []
        var answered = 0
        for _ in 0..<repeats {
            rollup.append(try await milliseconds {
                let history = try await store.history(device: "bench", metric: "temperature", from: start, to: end - 1, points: buckets)
                if case .buckets(_, let items) = history { answered = items.count }
            })
            raw.append(try await milliseconds {
                _ = try await store.historyFromRawRows(device: "bench", metric: "temperature", from: start, to: end - 1, points: buckets)
            })
        }
        var steps: [Double] = []
        var more = true
        while more {
            steps.append(try await milliseconds {
                more = try await store.deleteExpired(rawBefore: start + 86_400_000, rollupsBefore: start, maxRows: 5000).more
            })
        }
        return QueryResult(
            values: seconds, buckets: answered, rollupMs: median(rollup), rawMs: median(raw),
            retentionSteps: steps.count, longestRetentionStepMs: steps.max() ?? 0)
    }

    private func fileBytes(_ store: SQLiteStore) async throws -> Int64 {
        try await store.pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        return try await store.pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()") ?? 0
        }
    }

    private func milliseconds(_ work: () async throws -> Void) async throws -> Double {
        try await ContinuousClock().measure(work).seconds * 1000
    }

    private func median(_ values: [Double]) -> Double {
        values.sorted()[values.count / 2]
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
