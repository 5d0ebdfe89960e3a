import GRDB
import TelehubCore

/// What one retention step did.
public struct RetentionStep: Sendable, Equatable {
    public var rawRowsDeleted = 0
    public var rollupRowsDeleted = 0
    /// Series left with no data at all, forgotten (they no longer count
    /// against the device's `--max-series`).
    public var seriesRemoved = 0
    /// True when old rows remain: call again soon.
    public var more = false

    public init(rawRowsDeleted: Int = 0, rollupRowsDeleted: Int = 0, seriesRemoved: Int = 0, more: Bool = false) {
        self.rawRowsDeleted = rawRowsDeleted
        self.rollupRowsDeleted = rollupRowsDeleted
        self.seriesRemoved = seriesRemoved
        self.more = more
    }
}

extension SQLiteStore {
    public func deleteExpired(rawBefore: Int64, rollupsBefore: Int64, maxRows: Int) async throws -> RetentionStep {
        try await pool.write { db in
            var step = RetentionStep()
            var budget = maxRows
            (step.rawRowsDeleted, step.more) = try Self.deleteOlder(than: rawBefore, in: "reading", "ts", budget: budget, db)
            budget -= step.rawRowsDeleted
            for table in ["rollup_1m", "rollup_1h"] where budget > 0 {
                let (deleted, more) = try Self.deleteOlder(than: rollupsBefore, in: table, "bucket", budget: budget, db)
                step.rollupRowsDeleted += deleted
                step.more = step.more || more
                budget -= deleted
            }
            if budget <= 0 { step.more = true }
            if !step.more { step.seriesRemoved = try Self.removeEmptySeries(olderThan: rollupsBefore, db) }
            try Self.releaseFreePages(db)
            return step
        }
    }

    public func deleteOldestRaw(maxRows: Int) async throws -> Int {
        try await pool.write { db in
            let oldest = try Int64.fetchOne(
                db,
                sql: """
                    SELECT min((SELECT min(ts) FROM reading r WHERE r.device_id = l.device_id AND r.metric_id = l.metric_id))
                    FROM latest l
                    """)
            guard let oldest else { return 0 }
            // An hour at a time, oldest first, so the cut is the same for every series.
            let (deleted, _) = try Self.deleteOlder(than: oldest + 3_600_000, in: "reading", "ts", budget: maxRows, db)
            try Self.releaseFreePages(db)
            return deleted
        }
    }

    public func storageBytes() async throws -> Int64 {
        try await pool.read { db in
            let pageSize = try Int64.fetchOne(db, sql: "PRAGMA page_size") ?? 4096
            let pages = try Int64.fetchOne(db, sql: "PRAGMA page_count") ?? 0
            let free = try Int64.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0
            return (pages - free) * pageSize
        }
    }

    /// Deletes up to `budget` rows older than `cutoff`, series by series, each
    /// a range delete on the primary key.
    private static func deleteOlder(than cutoff: Int64, in table: String, _ column: String, budget: Int, _ db: Database)
        throws -> (deleted: Int, more: Bool)
    {
        let series = try GRDB.Row.fetchAll(db, sql: "SELECT device_id, metric_id FROM latest")
        var deleted = 0
        for row in series {
            let (device, metric): (Int64, Int64) = (row[0], row[1])
            let remaining = budget - deleted
            guard remaining > 0 else { return (deleted, true) }
            // The newest time this step may delete up to, so a step stays small.
            let bound = try Int64.fetchOne(
                db,
                sql: """
                    SELECT \(column) FROM \(table) WHERE device_id = ? AND metric_id = ? AND \(column) < ?
                    ORDER BY \(column) LIMIT 1 OFFSET ?
                    """, arguments: [device, metric, cutoff, remaining - 1])
            try db.execute(
                sql: "DELETE FROM \(table) WHERE device_id = ? AND metric_id = ? AND \(column) <= ?",
                arguments: [device, metric, min(bound ?? (cutoff - 1), cutoff - 1)])
            deleted += db.changesCount
        }
        return (deleted, deleted >= budget)
    }

    /// Forgets series whose newest value is past every retention and that
    /// have no rows left in any tier.
    private static func removeEmptySeries(olderThan cutoff: Int64, _ db: Database) throws -> Int {
        try db.execute(
            sql: """
                DELETE FROM latest WHERE ts < ?
                AND NOT EXISTS (SELECT 1 FROM reading r WHERE r.device_id = latest.device_id AND r.metric_id = latest.metric_id)
                AND NOT EXISTS (SELECT 1 FROM rollup_1m m WHERE m.device_id = latest.device_id AND m.metric_id = latest.metric_id)
                AND NOT EXISTS (SELECT 1 FROM rollup_1h h WHERE h.device_id = latest.device_id AND h.metric_id = latest.metric_id)
                """, arguments: [cutoff])
        return db.changesCount
    }

    /// Returns freed pages to the file system when the file uses incremental vacuum.
    private static func releaseFreePages(_ db: Database) throws {
        try db.execute(sql: "PRAGMA incremental_vacuum(2000)")
    }
}
