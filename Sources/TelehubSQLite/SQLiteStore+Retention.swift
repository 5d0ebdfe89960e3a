import GRDB
import TelehubCodec
import TelehubCore
public import TelehubStore

extension SQLiteStore {
    public func deleteExpired(rawBefore: Int64, rollupsBefore: Int64, maxRows: Int) async throws -> RetentionStep {
        try await pool.write { db in
            self.chunksChangedElsewhere()
            var step = RetentionStep()
            (step.rawRowsDeleted, step.more) = try Self.deleteValues(before: rawBefore, budget: maxRows, db)
            let budget = maxRows - step.rawRowsDeleted
            for key in try Self.allSeries(db) where budget > step.rollupRowsDeleted {
                try db.cachedStatement(
                    sql: """
                        DELETE FROM rollup WHERE device_id = ? AND metric_id = ? AND hour IN
                            (SELECT hour FROM rollup WHERE device_id = ? AND metric_id = ? AND hour < ? ORDER BY hour LIMIT ?)
                        """
                ).execute(arguments: [
                    key.deviceID, key.metricID, key.deviceID, key.metricID, rollupsBefore, budget - step.rollupRowsDeleted,
                ])
                step.rollupRowsDeleted += db.changesCount
            }
            if step.rollupRowsDeleted >= budget { step.more = true }
            if !step.more { step.seriesRemoved = try Self.removeEmptySeries(olderThan: rollupsBefore, db) }
            try Self.releaseFreePages(db)
            return step
        }
    }

    public func deleteOldestRaw(maxRows: Int) async throws -> Int {
        try await pool.write { db in
            self.chunksChangedElsewhere()
            // Each series' first chunk: the oldest of them goes first.
            let firsts = try Self.allSeries(db).compactMap { key in
                try GRDB.Row.fetchOne(
                    db.cachedStatement(
                        sql: "SELECT id, start_ts, count FROM chunk WHERE device_id = ? AND metric_id = ? ORDER BY start_ts LIMIT 1"),
                    arguments: [key.deviceID, key.metricID])
            }
            guard let oldest = firsts.min(by: { ($0[1] as Int64) < ($1[1] as Int64) }) else { return 0 }
            // An hour at a time, oldest first, so the cut is the same for every series;
            // at least the oldest chunk, so a step always frees something.
            var (deleted, _) = try Self.deleteValues(
                before: (oldest[1] as Int64) + 3_600_000, budget: maxRows, wholeChunksOnly: true, db)
            if deleted == 0 {
                try ChunkTable.delete(id: oldest[0], db)
                deleted = oldest[2]
            }
            try Self.releaseFreePages(db)
            return deleted
        }
    }

    public func migrateStep(maxValues: Int) async throws -> Bool {
        try await writeClassifyingFaults { db in
            self.chunksChangedElsewhere()
            return try LegacyRows.step(maxValues: maxValues, db)
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

    /// Deletes values older than `cutoff`, at most `budget` of them, series
    /// by series: whole chunks that lie before the cutoff, and a chunk across
    /// it (or one larger than what is left of the budget) rewritten without
    /// its oldest values. With `wholeChunksOnly` (the size cap), chunks go
    /// whole or not at all.
    private static func deleteValues(before cutoff: Int64, budget: Int, wholeChunksOnly: Bool = false, _ db: Database)
        throws -> (deleted: Int, more: Bool)
    {
        var deleted = 0
        for key in try allSeries(db) {
            let chunks = try GRDB.Row.fetchAll(
                db.cachedStatement(
                    sql: "SELECT id, start_ts, end_ts, count, sealed FROM chunk WHERE device_id = ? AND metric_id = ? AND start_ts < ? ORDER BY start_ts"),
                arguments: [key.deviceID, key.metricID, cutoff]
            ).map(ChunkTable.row)
            for var chunk in chunks {
                let remaining = budget - deleted
                guard remaining > 0 else { return (deleted, true) }
                if chunk.end < cutoff, chunk.count <= remaining {
                    try ChunkTable.delete(id: chunk.id, db)
                    deleted += chunk.count
                } else if wholeChunksOnly {
                    return (deleted, chunk.end < cutoff)
                } else {
                    chunk.data = try ChunkTable.data(id: chunk.id, db)
                    deleted += try dropOldest(before: cutoff, atMost: remaining, of: chunk, key, db)
                }
            }
        }
        return (deleted, deleted >= budget)
    }

    /// Every series with a latest value: every series that has data.
    private static func allSeries(_ db: Database) throws -> [SeriesKey] {
        try GRDB.Row.fetchAll(db, sql: "SELECT device_id, metric_id FROM latest").map { SeriesKey(deviceID: $0[0], metricID: $0[1]) }
    }

    /// Rewrites a chunk without its values before `cutoff`, at most `limit` of them.
    /// - Returns: how many values it dropped.
    private static func dropOldest(before cutoff: Int64, atMost limit: Int, of chunk: ChunkRow, _ key: SeriesKey, _ db: Database)
        throws -> Int
    {
        let decoded = try ChunkTable.decode(chunk)
        let old = decoded.timestamps.firstIndex { $0 >= cutoff } ?? decoded.count
        let dropped = min(old, limit)
        guard dropped > 0 else { return 0 }
        try ChunkTable.delete(id: chunk.id, db)
        let kept = DecodedChunk(timestamps: Array(decoded.timestamps[dropped...]), values: Array(decoded.values[dropped...]))
        for piece in EncodedChunk.split(kept, keepLastOpen: !chunk.sealed) { _ = try ChunkTable.insert(key, piece, db) }
        return dropped
    }

    /// Forgets series whose newest value is past every retention and that
    /// have no chunk and no rollup left.
    private static func removeEmptySeries(olderThan cutoff: Int64, _ db: Database) throws -> Int {
        guard try !LegacyRows.present(db) else { return 0 }  // until the old layout has moved
        try db.execute(
            sql: """
                DELETE FROM latest WHERE ts < ?
                AND NOT EXISTS (SELECT 1 FROM chunk c WHERE c.device_id = latest.device_id AND c.metric_id = latest.metric_id)
                AND NOT EXISTS (SELECT 1 FROM rollup r WHERE r.device_id = latest.device_id AND r.metric_id = latest.metric_id)
                """, arguments: [cutoff])
        return db.changesCount
    }

    /// Returns freed pages to the file system when the file uses incremental vacuum.
    private static func releaseFreePages(_ db: Database) throws {
        try db.execute(sql: "PRAGMA incremental_vacuum(2000)")
    }
}
