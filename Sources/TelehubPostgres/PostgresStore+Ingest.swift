import Synchronization
import PostgresNIO
import TelehubCore
public import TelehubStore

extension PostgresStore {
    @discardableResult
    public func commit(_ batch: CommitBatch) async throws -> CommitResult {
        guard !batch.isEmpty else { return CommitResult() }
        let rows = Self.lastWritten(batch.points)
        do {
            return try await commit(batch, rows)
        } catch PostgresStoreError.server(let state, _) where state == Self.noPartitionForRow {
            // Another hub's retention dropped a partition this one still knew:
            // forget what it knew and commit again (nothing was written).
            partitions.withLock { $0.removeAll() }
            return try await commit(batch, rows)
        }
    }

    /// "no partition of relation … found for row" (a check violation).
    static let noPartitionForRow = "23514"

    private func commit(_ batch: CommitBatch, _ rows: [SeriesPoint]) async throws -> CommitResult {
        try await ensurePartitions(weeks: Set(rows.map { Self.week(of: $0.ts) }))
        try await ensureMetricIDs(Set(rows.map(\.metric)))
        let ids = metricIDs.withLock { $0 }
        let now = EpochClock.nowMs()
        return try await write { sql in
            let missing = try await Self.lockDevices(of: batch, sql)
            let kept = missing.isEmpty ? rows : rows.filter { !missing.contains($0.deviceID) }
            if !kept.isEmpty {
                let columns = Columns(kept, ids: ids)
                let overwritten = try await Self.insert(columns, sql)
                if !overwritten.isEmpty { try await Self.recomputeRollups(of: overwritten, sql) }
            }
            try await Self.advance(batch.progress, sql)
            if !batch.alerts.isEmpty { try await Self.writeAlertChanges(batch.alerts, skipping: missing, now: now, sql) }
            var commands: [CommandRecord] = []
            for change in batch.commands {
                if let record = try await Self.change(change, now: now, sql) { commands.append(record) }
            }
            var states: [Int64: DeviceState] = [:]
            for report in batch.reports where !missing.contains(report.deviceID) {
                if let state = try await Self.applyReport(report, now: now, sql) { states[report.deviceID] = state }
            }
            // Last, so the stream's lock is held only while the commit itself completes.
            var positions: ClosedRange<Int64>?
            if let entry = batch.stream { positions = try await self.appendStream(entry, now: now, sql) }
            return CommitResult(missingDevices: missing, stream: positions, commands: commands, states: states)
        }
    }

    public func lastSeq(deviceID: Int64) async throws -> Int64 {
        try await read { sql in
            try await sql.value("SELECT last_seq FROM device WHERE id = \(deviceID)", as: Int64.self) ?? 0
        }
    }

    public func metricNames(deviceID: Int64) async throws -> [String] {
        try await read { sql in
            try await sql.column(
                "SELECT m.name FROM latest l JOIN metric m ON m.id = l.metric_id WHERE l.device_id = \(deviceID)", as: String.self)
        }
    }

    /// The points with the last of equal keys only (last write wins within a
    /// batch too), sorted by series and time.
    static func lastWritten(_ points: [SeriesPoint]) -> [SeriesPoint] {
        let ordered = points.enumerated().sorted {
            ($0.element.deviceID, $0.element.metric, $0.element.ts, $0.offset)
                < ($1.element.deviceID, $1.element.metric, $1.element.ts, $1.offset)
        }
        var result: [SeriesPoint] = []
        result.reserveCapacity(ordered.count)
        for (index, item) in ordered.enumerated() {
            if index + 1 < ordered.count {
                let next = ordered[index + 1].element
                if next.deviceID == item.element.deviceID, next.metric == item.element.metric, next.ts == item.element.ts { continue }
            }
            result.append(item.element)
        }
        return result
    }

    /// Finds or creates the ids of these metric names, in their own short
    /// transaction (a metric row is never deleted, so an id stays valid).
    func ensureMetricIDs(_ names: Set<String>) async throws {
        let unknown = metricIDs.withLock { known in names.filter { known[$0] == nil } }
        guard !unknown.isEmpty else { return }
        let list = Array(unknown)
        let found = try await write { sql in
            try await sql.run("INSERT INTO metric (name) SELECT unnest(\(list)::text[]) ON CONFLICT (name) DO NOTHING")
            return try await sql.rows("SELECT id, name FROM metric WHERE name = ANY(\(list)::text[])", as: (Int64, String).self)
        }
        metricIDs.withLock { known in
            for (id, name) in found { known[name] = id }
        }
    }

    /// The batch's devices that no longer exist; the others are locked
    /// against deletion (by any instance) until the commit ends.
    private static func lockDevices(of batch: CommitBatch, _ sql: SQLSession) async throws -> Set<Int64> {
        var wanted = Set(batch.progress.map(\.deviceID))
        for point in batch.points { wanted.insert(point.deviceID) }
        let list = wanted.sorted()
        let present = try await sql.column(
            "SELECT id FROM device WHERE id = ANY(\(list)::int8[]) ORDER BY id FOR KEY SHARE", as: Int64.self)
        return wanted.subtracting(present)
    }

    /// The rows as four arrays, for `unnest`.
    struct Columns {
        var devices: [Int64] = []
        var metrics: [Int64] = []
        var times: [Int64] = []
        var values: [Double] = []

        init(_ points: [SeriesPoint], ids: [String: Int64]) {
            devices.reserveCapacity(points.count)
            metrics.reserveCapacity(points.count)
            times.reserveCapacity(points.count)
            values.reserveCapacity(points.count)
            for point in points {
                guard let metric = ids[point.metric] else { continue }
                devices.append(point.deviceID)
                metrics.append(metric)
                times.append(point.ts)
                values.append(point.value)
            }
        }
    }

    /// New rows go in with their minute and hour rollups added in and the
    /// latest value per series, in one statement; keys that exist already
    /// (`ON CONFLICT DO NOTHING` skips them) are updated in a second one, only
    /// when there are any. (A partitioned table cannot return `xmax`, which
    /// would tell inserted from updated rows in one statement.)
    /// - Returns: the keys whose value replaced a different one, whose
    ///   rollups must be computed again from the rows.
    private static func insert(_ columns: Columns, _ sql: SQLSession) async throws -> [(Int64, Int64, Int64)] {
        let inserted = try await sql.value(
            """
            WITH input AS (
                SELECT * FROM unnest(\(columns.devices)::int8[], \(columns.metrics)::int8[], \(columns.times)::int8[],
                                     \(columns.values)::float8[]) AS t(device_id, metric_id, ts, value)
            ), written AS (
                INSERT INTO reading (device_id, metric_id, ts, value) SELECT * FROM input
                ON CONFLICT (device_id, metric_id, ts) DO NOTHING
                RETURNING device_id, metric_id, ts, value
            ), minute AS (\(unescaped: Self.addToRollup("rollup_minute", width: 60_000))
            ), hour AS (\(unescaped: Self.addToRollup("rollup_hour", width: 3_600_000))
            ), newest AS (
                INSERT INTO latest AS l (device_id, metric_id, ts, value)
                SELECT DISTINCT ON (device_id, metric_id) device_id, metric_id, ts, value FROM input
                ORDER BY device_id, metric_id, ts DESC
                ON CONFLICT (device_id, metric_id) DO UPDATE SET ts = excluded.ts, value = excluded.value
                WHERE excluded.ts >= l.ts
            )
            SELECT count(*)::int8 FROM written
            """, as: Int64.self) ?? 0
        guard inserted < columns.devices.count else { return [] }
        // Rows just inserted hold the same value, so only real replacements change.
        return try await sql.rows(
            """
            UPDATE reading r SET value = t.value
            FROM unnest(\(columns.devices)::int8[], \(columns.metrics)::int8[], \(columns.times)::int8[],
                        \(columns.values)::float8[]) AS t(device_id, metric_id, ts, value)
            WHERE r.device_id = t.device_id AND r.metric_id = t.metric_id AND r.ts = t.ts AND r.value IS DISTINCT FROM t.value
            RETURNING r.device_id, r.metric_id, r.ts
            """, as: (Int64, Int64, Int64).self)
    }

    /// The new rows (`written`) added into a rollup table of buckets `width` ms wide.
    private static func addToRollup(_ table: String, width: Int64) -> String {
        """
        INSERT INTO \(table) AS o (device_id, metric_id, bucket, sum, min, max, count)
                SELECT device_id, metric_id, ts - ((ts % \(width)) + \(width)) % \(width), sum(value), min(value), max(value), count(*)
                FROM written GROUP BY 1, 2, 3
                ON CONFLICT (device_id, metric_id, bucket) DO UPDATE SET sum = o.sum + excluded.sum,
                    min = least(o.min, excluded.min), max = greatest(o.max, excluded.max), count = o.count + excluded.count
        """
    }

    /// Minutes and hours where a value replaced another: sums cannot take a
    /// value back out, so these are computed again from what is stored.
    private static func recomputeRollups(of keys: [(Int64, Int64, Int64)], _ sql: SQLSession) async throws {
        var devices: [Int64] = [], metrics: [Int64] = [], minutes: [Int64] = []
        for (device, metric, ts) in keys {
            devices.append(device)
            metrics.append(metric)
            minutes.append(ts - ((ts % 60000) + 60000) % 60000)
        }
        try await sql.run(
            """
            INSERT INTO rollup_minute AS o (device_id, metric_id, bucket, sum, min, max, count)
            SELECT r.device_id, r.metric_id, b.bucket, sum(r.value), min(r.value), max(r.value), count(*)
            FROM (SELECT DISTINCT * FROM unnest(\(devices)::int8[], \(metrics)::int8[], \(minutes)::int8[]) AS t(d, m, bucket)) b
            JOIN reading r ON r.device_id = b.d AND r.metric_id = b.m AND r.ts >= b.bucket AND r.ts < b.bucket + 60000
            GROUP BY 1, 2, 3
            ON CONFLICT (device_id, metric_id, bucket) DO UPDATE
                SET sum = excluded.sum, min = excluded.min, max = excluded.max, count = excluded.count
            """)
        try await sql.run(
            """
            INSERT INTO rollup_hour AS o (device_id, metric_id, bucket, sum, min, max, count)
            SELECT m.device_id, m.metric_id, b.bucket, sum(m.sum), min(m.min), max(m.max), sum(m.count)::int8
            FROM (SELECT DISTINCT d, mt, bucket - ((bucket % 3600000) + 3600000) % 3600000 AS bucket
                  FROM unnest(\(devices)::int8[], \(metrics)::int8[], \(minutes)::int8[]) AS t(d, mt, bucket)) b
            JOIN rollup_minute m ON m.device_id = b.d AND m.metric_id = b.mt AND m.bucket >= b.bucket AND m.bucket < b.bucket + 3600000
            GROUP BY 1, 2, 3
            ON CONFLICT (device_id, metric_id, bucket) DO UPDATE
                SET sum = excluded.sum, min = excluded.min, max = excluded.max, count = excluded.count
            """)
    }

    /// Each device's `lastSeq` and `lastSeen` only ever move forward.
    private static func advance(_ progress: [DeviceProgress], _ sql: SQLSession) async throws {
        guard !progress.isEmpty else { return }
        var newest: [Int64: (seq: Int64, seen: Int64)] = [:]
        for item in progress {
            let old = newest[item.deviceID] ?? (0, .min)
            newest[item.deviceID] = (max(old.seq, item.lastSeq ?? 0), max(old.seen, item.lastSeen))
        }
        let ids = newest.keys.sorted()
        let seqs = ids.map { newest[$0]!.seq }
        let seen = ids.map { newest[$0]!.seen }
        try await sql.run(
            """
            UPDATE device d SET last_seq = greatest(d.last_seq, p.seq), last_seen = greatest(coalesce(d.last_seen, 0), p.seen)
            FROM unnest(\(ids)::int8[], \(seqs)::int8[], \(seen)::int8[]) AS p(id, seq, seen) WHERE d.id = p.id
            """)
    }
}
