import GRDB
import TelehubCore

/// One bucket of one series in a rollup tier.
struct SeriesBucket: Hashable, Comparable {
    var deviceID: Int64
    var metricID: Int64
    var start: Int64

    static func < (lhs: SeriesBucket, rhs: SeriesBucket) -> Bool {
        (lhs.deviceID, lhs.metricID, lhs.start) < (rhs.deviceID, rhs.metricID, rhs.start)
    }

    func containing(_ resolution: Resolution) -> SeriesBucket {
        SeriesBucket(deviceID: deviceID, metricID: metricID, start: start - start % resolution.milliseconds)
    }
}

/// What one flush changes in the rollup tiers.
struct RollupChanges {
    /// Aggregates of newly inserted values, per minute and per hour.
    var minutes: [SeriesBucket: Aggregate] = [:]
    var hours: [SeriesBucket: Aggregate] = [:]
    /// Minutes where a stored value was overwritten: sum, min and max cannot
    /// be corrected by a delta, so these are recomputed from the raw rows.
    var dirtyMinutes: Set<SeriesBucket> = []

    mutating func added(_ row: SQLiteStore.Row) {
        let bucket = SeriesBucket(deviceID: row.deviceID, metricID: row.metricID, start: row.ts)
        minutes[bucket.containing(.minute), default: Aggregate(sum: 0, min: .infinity, max: -.infinity, count: 0)]
            .merge(Aggregate(value: row.value))
        hours[bucket.containing(.hour), default: Aggregate(sum: 0, min: .infinity, max: -.infinity, count: 0)]
            .merge(Aggregate(value: row.value))
    }

    mutating func overwrote(_ row: SQLiteStore.Row) {
        dirtyMinutes.insert(SeriesBucket(deviceID: row.deviceID, metricID: row.metricID, start: row.ts).containing(.minute))
    }
}

extension SQLiteStore {
    /// The table of a rollup tier (raw values live in `reading`).
    static func rollupTable(_ resolution: Resolution) -> String {
        switch resolution {
        case .raw: "reading"
        case .minute: "rollup_1m"
        case .hour: "rollup_1h"
        }
    }

    /// Brings both tiers up to date with one flush, inside its transaction.
    static func applyRollups(_ changes: RollupChanges, _ db: Database) throws {
        let dirtyHours = Set(changes.dirtyMinutes.map { $0.containing(.hour) })
        try addToTier(.minute, changes.minutes.filter { !changes.dirtyMinutes.contains($0.key) }, db)
        for minute in changes.dirtyMinutes.sorted() { try recompute(minute, .minute, db) }
        try addToTier(.hour, changes.hours.filter { !dirtyHours.contains($0.key) }, db)
        for hour in dirtyHours.sorted() { try recompute(hour, .hour, db) }
    }

    private static func addToTier(_ resolution: Resolution, _ aggregates: [SeriesBucket: Aggregate], _ db: Database) throws {
        let table = rollupTable(resolution)
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO \(table) (device_id, metric_id, bucket, sum, min, max, count) VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (device_id, metric_id, bucket) DO UPDATE SET
                    sum = sum + excluded.sum, min = min(min, excluded.min), max = max(max, excluded.max),
                    count = count + excluded.count
                """)
        for (bucket, aggregate) in aggregates.sorted(by: { $0.key < $1.key }) {
            statement.setUncheckedArguments([
                bucket.deviceID, bucket.metricID, bucket.start, aggregate.sum, aggregate.min, aggregate.max,
                aggregate.count,
            ])
            try statement.execute()
        }
    }

    /// Rebuilds one bucket from the next finer resolution.
    private static func recompute(_ bucket: SeriesBucket, _ resolution: Resolution, _ db: Database) throws {
        let table = rollupTable(resolution)
        let source =
            resolution == .minute
            ? "SELECT sum(value), min(value), max(value), count(*) FROM reading"
            : "SELECT sum(sum), min(min), max(max), sum(count) FROM rollup_1m"
        let column = resolution == .minute ? "ts" : "bucket"
        try db.execute(
            sql: """
                INSERT OR REPLACE INTO \(table) (device_id, metric_id, bucket, sum, min, max, count)
                SELECT ?, ?, ?, s.* FROM (\(source)
                    WHERE device_id = ? AND metric_id = ? AND \(column) >= ? AND \(column) < ?) AS s
                """,
            arguments: [
                bucket.deviceID, bucket.metricID, bucket.start, bucket.deviceID, bucket.metricID, bucket.start,
                bucket.start + resolution.milliseconds,
            ])
    }
}
