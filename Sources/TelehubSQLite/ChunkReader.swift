import GRDB
import TelehubCodec
import TelehubStore

/// Reads a series' values back from its chunks, oldest first.
enum ChunkReader {
    /// Calls `body` with every value in `[from, to]` in time order until it returns false.
    /// - Parameter includeLegacy: also the rows of the old layout not yet moved
    ///   (see `LegacyRows`); a chunk's value wins over an old row at the same time.
    static func forEach(
        _ key: SeriesKey, from: Int64, to: Int64, includeLegacy: Bool = true, _ db: Database,
        _ body: (Int64, Double) throws -> Bool
    ) throws {
        guard from <= to else { return }
        let hasLegacy = try includeLegacy && LegacyRows.present(db)
        let legacy = hasLegacy ? try legacyRows(key, from: from, to: to, db) : nil
        var pending = try legacy?.next().map { (ts: $0[0] as Int64, value: $0[1] as Double) }
        let chunks = try ChunkTable.overlapping(key, from: from, to: to, db)
        while let row = try chunks.next() {
            let chunk = try ChunkTable.decode(ChunkTable.row(row))
            for (ts, value) in zip(chunk.timestamps, chunk.values) where ts >= from && ts <= to {
                while let old = pending, old.ts <= ts {
                    if old.ts < ts { guard try body(old.ts, old.value) else { return } }
                    pending = try legacy?.next().map { (ts: $0[0] as Int64, value: $0[1] as Double) }
                }
                guard try body(ts, value) else { return }
            }
        }
        while let old = pending {
            guard try body(old.ts, old.value) else { return }
            pending = try legacy?.next().map { (ts: $0[0] as Int64, value: $0[1] as Double) }
        }
    }

    private static func legacyRows(_ key: SeriesKey, from: Int64, to: Int64, _ db: Database) throws -> RowCursor {
        try GRDB.Row.fetchCursor(
            db, sql: "SELECT ts, value FROM reading WHERE device_id = ? AND metric_id = ? AND ts BETWEEN ? AND ? ORDER BY ts",
            arguments: [key.deviceID, key.metricID, from, to])
    }

    /// The values in `[from, to]`, at most `limit`.
    static func values(_ key: SeriesKey, from: Int64, to: Int64, limit: Int = .max, _ db: Database) throws
        -> [(ts: Int64, value: Double)]
    {
        var values: [(ts: Int64, value: Double)] = []
        guard limit > 0 else { return values }
        try forEach(key, from: from, to: to, db) { ts, value in
            values.append((ts, value))
            return values.count < limit
        }
        return values
    }

    /// How many values lie in `[from, to]`: chunks wholly inside by their
    /// stored count, the ones across an end decoded.
    static func count(_ key: SeriesKey, from: Int64, to: Int64, _ db: Database) throws -> Int {
        guard from <= to else { return 0 }
        let inside = try Int.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT coalesce(sum(count), 0) FROM chunk
                    WHERE device_id = ? AND metric_id = ? AND start_ts >= ? AND start_ts <= ? AND end_ts <= ?
                    """),
            arguments: [key.deviceID, key.metricID, from, to, to]) ?? 0
        var edges = 0
        let chunks = try ChunkTable.overlapping(key, from: from, to: to, data: false, db)
        while let row = try chunks.next() {
            var chunk = ChunkTable.row(row)
            guard chunk.start < from || chunk.end > to else { continue }
            chunk.data = try ChunkTable.data(id: chunk.id, db)
            edges += try ChunkTable.decode(chunk).timestamps.lazy.filter { $0 >= from && $0 <= to }.count
        }
        let legacy = try LegacyRows.present(db)
            ? try Int.fetchOne(
                db, sql: "SELECT count(*) FROM reading WHERE device_id = ? AND metric_id = ? AND ts BETWEEN ? AND ?",
                arguments: [key.deviceID, key.metricID, from, to]) ?? 0
            : 0
        return inside + edges + legacy
    }
}
