import Foundation
import GRDB
import TelehubCodec
import TelehubCore
import TelehubStore

/// A file written by the row layout (a `reading` row per value,
/// `rollup_1m` and `rollup_1h` rows) moves into chunks in small steps while
/// the hub serves: each step is one transaction, so a `kill -9` at any
/// point loses nothing, and the next start goes on where it stopped.
///
/// Until a series is moved, reads combine both layouts (`ChunkReader`,
/// history) and new values go to chunks only. A step moves whole hours of
/// one series: its old rows merge into the chunks (a value written since
/// wins), the hours' rollups are rebuilt from the chunks, and the old rows
/// and rollups of those hours are deleted. When no old row is left, the
/// old tables are dropped.
enum LegacyRows {
    static let hourMs = Resolution.hour.milliseconds

    /// Whether the file still holds rows of the old layout.
    static func present(_ db: Database) throws -> Bool {
        try db.tableExists("reading")
    }

    /// Moves at most about `maxValues` old values (whole hours of one series; an hour is never split).
    /// - Returns: false once nothing is left to move.
    static func step(maxValues: Int, _ db: Database) throws -> Bool {
        guard try present(db) else { return false }
        if let row = try GRDB.Row.fetchOne(db, sql: "SELECT device_id, metric_id FROM reading LIMIT 1") {
            try moveReadings(SeriesKey(deviceID: row[0], metricID: row[1]), maxValues: max(1, maxValues), db)
            return true
        }
        for table in ["rollup_1h", "rollup_1m"] {
            if let row = try GRDB.Row.fetchOne(db, sql: "SELECT device_id, metric_id FROM \(table) LIMIT 1") {
                try moveRollups(SeriesKey(deviceID: row[0], metricID: row[1]), hours: max(1, maxValues / 60), db)
                return true
            }
        }
        try db.execute(sql: "DROP TABLE reading; DROP TABLE rollup_1m; DROP TABLE rollup_1h")
        return false
    }


    /// The oldest hours of a series' old rows, at least one hour and about `maxValues` values.
    private static func moveReadings(_ key: SeriesKey, maxValues: Int, _ db: Database) throws {
        let arguments: StatementArguments = [key.deviceID, key.metricID]
        guard let first = try Int64.fetchOne(db, sql: "SELECT min(ts) FROM reading WHERE device_id = ? AND metric_id = ?", arguments: arguments)
        else { return }
        let from = RollupTable.hourStart(first)
        let last = try Int64.fetchOne(
            db, sql: "SELECT ts FROM reading WHERE device_id = ? AND metric_id = ? ORDER BY ts LIMIT 1 OFFSET ?",
            arguments: arguments + [maxValues - 1])
        let to = last.map { RollupTable.hourStart($0) + hourMs } ?? Int64.max
        let rows = try GRDB.Row.fetchAll(
            db, sql: "SELECT ts, value FROM reading WHERE device_id = ? AND metric_id = ? AND ts >= ? AND ts < ? ORDER BY ts",
            arguments: arguments + [from, to]
        ).enumerated().map { index, row in
            SQLiteStore.Row(deviceID: key.deviceID, metricID: key.metricID, ts: row[0], value: row[1], order: index)
        }
        var writer = ChunkWriter()
        try writer.write(key, rows[...], storedWins: true, db)
        var rawCounts: [Int64: Int] = [:]
        for row in rows { rawCounts[RollupTable.start(of: row.ts, .minute), default: 0] += 1 }
        for hour in Set(rows.map { RollupTable.hourStart($0.ts) }).sorted() {
            try rebuild(SeriesBucket(key, start: hour), rawCounts: rawCounts, db)
        }
        let range = arguments + [from, to]
        try db.execute(sql: "DELETE FROM reading WHERE device_id = ? AND metric_id = ? AND ts >= ? AND ts < ?", arguments: range)
        try db.execute(sql: "DELETE FROM rollup_1m WHERE device_id = ? AND metric_id = ? AND bucket >= ? AND bucket < ?", arguments: range)
        try db.execute(sql: "DELETE FROM rollup_1h WHERE device_id = ? AND metric_id = ? AND bucket >= ? AND bucket < ?", arguments: range)
    }

    /// An hour's rollup from the chunks, except for minutes whose old rows
    /// were already partly deleted by retention: their old rollup, which
    /// still counts every value, is kept.
    private static func rebuild(_ hour: SeriesBucket, rawCounts: [Int64: Int], _ db: Database) throws {
        var filling = FillingHour(hour: hour.start)
        try ChunkReader.forEach(hour.key, from: hour.start, to: hour.start + hourMs - 1, includeLegacy: false, db) { ts, value in
            filling.add(ts: ts, value: value)
            return true
        }
        var minutes = filling.present
        for (start, aggregate) in try oldMinutes(hour, db) where aggregate.count > rawCounts[start] ?? 0 {
            minutes[RollupTable.minuteIndex(start)] = aggregate
        }
        try RollupTable.save(hour, minutes, db)
    }

    private static func oldMinutes(_ hour: SeriesBucket, _ db: Database) throws -> [(Int64, Aggregate)] {
        try GRDB.Row.fetchAll(
            db,
            sql: """
                SELECT bucket, sum, min, max, count FROM rollup_1m
                WHERE device_id = ? AND metric_id = ? AND bucket >= ? AND bucket < ?
                  AND sum IS NOT NULL AND min IS NOT NULL AND max IS NOT NULL
                """, arguments: [hour.deviceID, hour.metricID, hour.start, hour.start + hourMs]
        ).map { ($0[0], Aggregate(sum: $0[1], min: $0[2], max: $0[3], count: $0[4])) }
    }

    /// Rollups of hours whose values are all gone (retention keeps rollups
    /// longer than values): their minutes move over, merged into any new
    /// rollup of the same hour.
    private static func moveRollups(_ key: SeriesKey, hours: Int, _ db: Database) throws {
        let starts = try Int64.fetchAll(
            db,
            sql: """
                SELECT DISTINCT bucket - ((bucket % 3600000) + 3600000) % 3600000 AS hour FROM (
                    SELECT bucket FROM rollup_1h WHERE device_id = ? AND metric_id = ?
                    UNION ALL SELECT bucket FROM rollup_1m WHERE device_id = ? AND metric_id = ?)
                ORDER BY hour LIMIT ?
                """, arguments: [key.deviceID, key.metricID, key.deviceID, key.metricID, hours])
        for start in starts {
            let hour = SeriesBucket(key, start: start)
            var minutes = try RollupTable.load(hour, db)
            for (minute, aggregate) in try oldMinutes(hour, db) {
                let index = RollupTable.minuteIndex(minute)
                if var existing = minutes[index] {
                    existing.merge(aggregate)
                    minutes[index] = existing
                } else {
                    minutes[index] = aggregate
                }
            }
            if minutes.isEmpty, let whole = try oldHour(hour, db) {
                try RollupTable.saveWithoutMinutes(hour, whole, db)
            } else {
                try RollupTable.save(hour, minutes, db)
            }
            let range: StatementArguments = [key.deviceID, key.metricID, start, start + hourMs]
            try db.execute(sql: "DELETE FROM rollup_1m WHERE device_id = ? AND metric_id = ? AND bucket >= ? AND bucket < ?", arguments: range)
            try db.execute(sql: "DELETE FROM rollup_1h WHERE device_id = ? AND metric_id = ? AND bucket >= ? AND bucket < ?", arguments: range)
        }
    }

    /// An old hour row with no minute rows left (they are deleted first by the old retention).
    private static func oldHour(_ hour: SeriesBucket, _ db: Database) throws -> Aggregate? {
        try GRDB.Row.fetchOne(
            db,
            sql: """
                SELECT sum, min, max, count FROM rollup_1h WHERE device_id = ? AND metric_id = ? AND bucket = ?
                  AND sum IS NOT NULL AND min IS NOT NULL AND max IS NOT NULL
                """, arguments: [hour.deviceID, hour.metricID, hour.start]
        ).map { Aggregate(sum: $0[0], min: $0[1], max: $0[2], count: $0[3]) }
    }
}
