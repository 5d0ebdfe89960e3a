import Foundation
import GRDB
import TelehubCodec
public import TelehubCore
import TelehubStore

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

    /// A series the device has reported: its ids and the time of its newest value.
    struct Series {
        var key: SeriesKey
        var newest: Int64
    }

    /// The series, or nil when the device never reported this metric.
    static func series(device: String, metric: String, _ db: Database) throws -> Series? {
        let row = try GRDB.Row.fetchOne(
            db,
            sql: """
                SELECT l.device_id, l.metric_id, l.ts FROM latest l
                JOIN device d ON d.id = l.device_id JOIN metric m ON m.id = l.metric_id
                WHERE d.name = ? AND m.name = ?
                """, arguments: [device, metric])
        return row.map { Series(key: SeriesKey(deviceID: $0[0], metricID: $0[1]), newest: $0[2]) }
    }

    /// Whole hours and minutes from the rollups where they are complete (before
    /// the hour of the newest value, see `RollupTable`), the rest from the values.
    private static func segments(_ series: Series, from: Int64, to: Int64, upTo coarsest: Resolution) -> [TimeSegment] {
        let filling = RollupTable.hourStart(series.newest)
        var segments = TimeSegment.cover(from: from, to: min(to, filling - 1), upTo: coarsest)
        if to >= filling { segments.append(TimeSegment(.raw, from: max(from, filling), to: to)) }
        return segments
    }

    static func history(_ series: Series, from: Int64, to: Int64, points: Int, upTo coarsest: Resolution, _ db: Database)
        throws -> MetricHistory
    {
        let count = try segments(series, from: from, to: to, upTo: coarsest).reduce(0) {
            $0 + (try countValues(series.key, $1, db))
        }
        if count <= points {
            return .raw(try ChunkReader.values(series.key, from: from, to: to, db))
        }
        let plan = BucketPlan(from: from, to: to, points: points)
        var buckets: [Int64: Aggregate] = [:]
        for segment in segments(series, from: from, to: to, upTo: min(plan.resolution, coarsest)) {
            try forEachAggregate(series.key, segment, db) { start, aggregate in
                let index = (start - plan.origin) / plan.step
                buckets[index, default: Aggregate(sum: 0, min: .infinity, max: -.infinity, count: 0)].merge(aggregate)
            }
        }
        return .buckets(
            step: plan.step,
            buckets.sorted { $0.key < $1.key }.map { (plan.start(ofBucket: $0.key), $0.value) })
    }

    private static func countValues(_ series: SeriesKey, _ segment: TimeSegment, _ db: Database) throws -> Int {
        switch segment.resolution {
        case .raw:
            return try ChunkReader.count(series, from: segment.from, to: segment.to, db)
        case .minute:
            var count = 0
            try forEachAggregate(series, segment, db) { _, aggregate in count += Int(aggregate.count) }
            return count
        case .hour:
            var count = 0
            try forEachAggregate(series, segment, db) { _, aggregate in count += Int(aggregate.count) }
            return count
        }
    }

    /// Calls `body` with the start and aggregate of every stored unit of
    /// the segment's resolution (a value, a minute or an hour) in its range.
    private static func forEachAggregate(
        _ series: SeriesKey, _ segment: TimeSegment, _ db: Database, _ body: (Int64, Aggregate) throws -> Void
    ) throws {
        switch segment.resolution {
        case .raw:
            try ChunkReader.forEach(series, from: segment.from, to: segment.to, db) { ts, value in
                try body(ts, Aggregate(value: value))
                return true
            }
        case .minute:
            let hourMs = Resolution.hour.milliseconds
            let rows = try GRDB.Row.fetchCursor(
                db.cachedStatement(
                    sql: "SELECT hour, minutes FROM rollup WHERE device_id = ? AND metric_id = ? AND hour BETWEEN ? AND ? ORDER BY hour"),
                arguments: [series.deviceID, series.metricID, segment.from - ((segment.from % hourMs) + hourMs) % hourMs, segment.to])
            while let row = try rows.next() {
                let hour: Int64 = row[0]
                guard let blob: Data = row[1] else { continue }
                for minute in try RollupTable.decode([UInt8](blob), hour: hour) {
                    let start = hour + Int64(minute.minute) * Resolution.minute.milliseconds
                    guard start >= segment.from, start <= segment.to else { continue }
                    try body(start, Aggregate(sum: minute.sum, min: minute.min, max: minute.max, count: minute.count))
                }
            }
        case .hour:
            let rows = try GRDB.Row.fetchCursor(
                db.cachedStatement(
                    sql: "SELECT hour, sum, min, max, count FROM rollup WHERE device_id = ? AND metric_id = ? AND hour BETWEEN ? AND ?"),
                arguments: [series.deviceID, series.metricID, segment.from, segment.to])
            while let row = try rows.next() {
                try body(row[0], Aggregate(sum: row[1], min: row[2], max: row[3], count: row[4]))
            }
        }
        if segment.resolution != .raw, try LegacyRows.present(db) {
            try forEachLegacyAggregate(series, segment, db, body)
        }
    }

    /// The old layout's rollups not yet moved (see `LegacyRows`).
    private static func forEachLegacyAggregate(
        _ series: SeriesKey, _ segment: TimeSegment, _ db: Database, _ body: (Int64, Aggregate) throws -> Void
    ) throws {
        let table = segment.resolution == .minute ? "rollup_1m" : "rollup_1h"
        let rows = try GRDB.Row.fetchCursor(
            db,
            sql: """
                SELECT bucket, sum, min, max, count FROM \(table) WHERE device_id = ? AND metric_id = ? AND bucket BETWEEN ? AND ?
                  AND sum IS NOT NULL AND min IS NOT NULL AND max IS NOT NULL
                """,
            arguments: [series.deviceID, series.metricID, segment.from, segment.to])
        while let row = try rows.next() {
            try body(row[0], Aggregate(sum: row[1], min: row[2], max: row[3], count: row[4]))
        }
    }
}
