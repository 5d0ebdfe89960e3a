import Foundation
import GRDB
import TelehubCodec
import TelehubCore
import TelehubStore

/// One minute or hour of one series.
struct SeriesBucket: Hashable, Comparable {
    var deviceID: Int64
    var metricID: Int64
    var start: Int64

    init(_ key: SeriesKey, start: Int64) {
        deviceID = key.deviceID
        metricID = key.metricID
        self.start = start
    }

    var key: SeriesKey { SeriesKey(deviceID: deviceID, metricID: metricID) }

    static func < (lhs: SeriesBucket, rhs: SeriesBucket) -> Bool {
        (lhs.deviceID, lhs.metricID, lhs.start) < (rhs.deviceID, rhs.metricID, rhs.start)
    }

    func containing(_ resolution: Resolution) -> SeriesBucket {
        SeriesBucket(key, start: RollupTable.start(of: start, resolution))
    }
}

/// What one commit changes in the rollups.
struct RollupChanges {
    /// Aggregates of newly stored values, per minute.
    private(set) var minutes: [SeriesBucket: Aggregate] = [:]
    /// Minutes where a stored value was overwritten: sum, min and max cannot
    /// be corrected by a delta, so these are recomputed from the chunks.
    private(set) var dirtyMinutes: Set<SeriesBucket> = []
    /// The minute being added to: values come sorted by series and time, so
    /// most of them add here instead of looking the minute up.
    private var current: (bucket: SeriesBucket, aggregate: Aggregate)?

    mutating func added(_ key: SeriesKey, ts: Int64, value: Double) {
        let start = RollupTable.start(of: ts, .minute)
        if let bucket = current?.bucket, bucket.start == start, bucket.deviceID == key.deviceID, bucket.metricID == key.metricID {
            current!.aggregate.merge(Aggregate(value: value))
            return
        }
        flush()
        current = (SeriesBucket(key, start: start), Aggregate(value: value))
    }

    mutating func overwrote(_ key: SeriesKey, ts: Int64) {
        dirtyMinutes.insert(SeriesBucket(key, start: ts).containing(.minute))
    }

    /// Every change, the minute being added to included.
    mutating func finished() -> (minutes: [SeriesBucket: Aggregate], dirty: Set<SeriesBucket>) {
        flush()
        return (minutes, dirtyMinutes)
    }

    private mutating func flush() {
        guard let current else { return }
        minutes[current.bucket, default: Aggregate(sum: 0, min: .infinity, max: -.infinity, count: 0)].merge(current.aggregate)
        self.current = nil
    }
}

/// The `rollup` table: a row per series and hour with the hour's aggregate
/// and its minutes' aggregates in one compressed `MinuteBlock`. A month is
/// 720 rows; a day at minute resolution 24.
///
/// Rollups cover a series' complete hours, those before the hour of its
/// newest value: that hour is rolled up from the chunks in the commit that
/// moves the newest value past it, and a late value in a complete hour
/// updates its row in its own commit. Queries read the hour still filling
/// from the chunks (a few thousand values at most at 1 Hz). So a commit
/// rewrites no rollup row while values arrive in order, and the rows are
/// exact in every committed state.
enum RollupTable {
    static let minuteMs = Resolution.minute.milliseconds
    static let hourMs = Resolution.hour.milliseconds

    /// Brings the hours a commit touched up to date, after its chunks are written.
    static func apply(_ changes: inout RollupChanges, _ db: Database) throws {
        let (minutes, dirty) = changes.finished()
        var hours: [SeriesBucket: [Int: Aggregate]] = [:]
        for (bucket, aggregate) in minutes where !dirty.contains(bucket) {
            hours[bucket.containing(.hour), default: [:]][minuteIndex(bucket.start)] = aggregate
        }
        var dirtyHours: [SeriesBucket: [Int]] = [:]
        for bucket in dirty { dirtyHours[bucket.containing(.hour), default: []].append(minuteIndex(bucket.start)) }
        for hour in Set(hours.keys).union(dirtyHours.keys).sorted() {
            var stored = try load(hour, db)
            for (index, aggregate) in hours[hour] ?? [:] { stored[index] = stored[index].map { merged($0, aggregate) } ?? aggregate }
            for index in dirtyHours[hour] ?? [] {
                stored[index] = try recompute(hour.key, from: hour.start + Int64(index) * minuteMs, db)
            }
            try save(hour, stored, db)
        }
    }

    /// The start of the hour `ts` lies in (negative times included).
    static func hourStart(_ ts: Int64) -> Int64 {
        start(of: ts, .hour)
    }

    /// The start of the minute or hour `ts` lies in (negative times included).
    static func start(of ts: Int64, _ resolution: Resolution) -> Int64 {
        let width = resolution.milliseconds
        return ts - ((ts % width) + width) % width
    }

    /// Rolls up the hours `[from, to)` of each series from its chunks (old
    /// layout rows not yet moved have rollups of their own, so they are left out).
    static func complete(
        _ completed: [(key: SeriesKey, from: Int64, to: Int64)], gathered: [(hour: SeriesBucket, minutes: [Int: Aggregate])],
        _ db: Database
    ) throws {
        for item in gathered { try save(item.hour, item.minutes, db) }
        for item in completed {
            var filling: FillingHour?
            try ChunkReader.forEach(item.key, from: item.from, to: item.to - 1, includeLegacy: false, db) { ts, value in
                let start = hourStart(ts)
                if start != filling?.hour {
                    if let done = filling { try save(SeriesBucket(item.key, start: done.hour), done.present, db) }
                    filling = FillingHour(hour: start)
                }
                filling?.add(ts: ts, value: value)
                return true
            }
            if let done = filling { try save(SeriesBucket(item.key, start: done.hour), done.present, db) }
        }
    }

    /// The minute of its hour that `start` lies in, 0..<60 (negative times included).
    static func minuteIndex(_ start: Int64) -> Int {
        Int((start % hourMs + hourMs) % hourMs / minuteMs)
    }

    private static func merged(_ lhs: Aggregate, _ rhs: Aggregate) -> Aggregate {
        var result = lhs
        result.merge(rhs)
        return result
    }

    /// The stored minutes of an hour, by their index in it.
    static func load(_ hour: SeriesBucket, _ db: Database) throws -> [Int: Aggregate] {
        let blob = try Data.fetchOne(
            db.cachedStatement(sql: "SELECT minutes FROM rollup WHERE device_id = ? AND metric_id = ? AND hour = ?"),
            arguments: [hour.deviceID, hour.metricID, hour.start])
        guard let blob else { return [:] }
        var minutes: [Int: Aggregate] = [:]
        for item in try decode([UInt8](blob), hour: hour.start) {
            minutes[item.minute] = Aggregate(sum: item.sum, min: item.min, max: item.max, count: item.count)
        }
        return minutes
    }

    static func decode(_ blob: [UInt8], hour: Int64) throws -> [MinuteAggregate] {
        do {
            return try MinuteBlock.decode(blob)
        } catch {
            throw StoreError.damagedChunk(id: hour, reason: "minute rollups: \(error)")
        }
    }

    /// Writes an hour from its minutes (the hour's aggregate is theirs merged in order), or deletes it when empty.
    static func save(_ hour: SeriesBucket, _ minutes: [Int: Aggregate], _ db: Database) throws {
        let ordered = minutes.sorted { $0.key < $1.key }
        guard !ordered.isEmpty else {
            try db.cachedStatement(sql: "DELETE FROM rollup WHERE device_id = ? AND metric_id = ? AND hour = ?")
                .execute(arguments: [hour.deviceID, hour.metricID, hour.start])
            return
        }
        var total = Aggregate(sum: 0, min: .infinity, max: -.infinity, count: 0)
        for (_, aggregate) in ordered { total.merge(aggregate) }
        let block = MinuteBlock.encode(ordered.map { index, aggregate in
            MinuteAggregate(minute: index, sum: aggregate.sum, min: aggregate.min, max: aggregate.max, count: aggregate.count)
        })
        let statement = try db.cachedStatement(
            sql: """
                INSERT OR REPLACE INTO rollup (device_id, metric_id, hour, sum, min, max, count, minutes)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """)
        statement.setUncheckedArguments([
            hour.deviceID, hour.metricID, hour.start, total.sum, total.min, total.max, total.count, Data(block),
        ])
        try statement.execute()
    }

    /// An hour known only by its aggregate (a file from before kept no minutes of it).
    static func saveWithoutMinutes(_ hour: SeriesBucket, _ total: Aggregate, _ db: Database) throws {
        try db.cachedStatement(
            sql: """
                INSERT OR REPLACE INTO rollup (device_id, metric_id, hour, sum, min, max, count, minutes)
                VALUES (?, ?, ?, ?, ?, ?, ?, NULL)
                """
        ).execute(arguments: [hour.deviceID, hour.metricID, hour.start, total.sum, total.min, total.max, total.count])
    }

    /// A minute's aggregate from the chunks, or nil when it holds no value.
    private static func recompute(_ key: SeriesKey, from start: Int64, _ db: Database) throws -> Aggregate? {
        var aggregate: Aggregate?
        try ChunkReader.forEach(key, from: start, to: start + minuteMs - 1, includeLegacy: false, db) { _, value in
            aggregate = aggregate.map { merged($0, Aggregate(value: value)) } ?? Aggregate(value: value)
            return true
        }
        return aggregate
    }
}
