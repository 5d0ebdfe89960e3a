import Synchronization
import PostgresNIO
public import TelehubStore

extension PostgresStore {
    /// Drops every partition whose whole week lies before `rawBefore` (no
    /// row deletes: the space is free at once), then deletes at most `maxRows`
    /// older rows of the week across the cutoff, then old rollups.
    public func deleteExpired(rawBefore: Int64, rollupsBefore: Int64, maxRows: Int) async throws -> RetentionStep {
        var step = RetentionStep()
        step.rawRowsDeleted = try await dropPartitions { $0.week * Self.weekMs + Self.weekMs <= rawBefore }
        return try await write { sql in
            let raw = try await sql.count(
                """
                DELETE FROM reading WHERE (device_id, metric_id, ts) IN (
                    SELECT device_id, metric_id, ts FROM reading WHERE ts < \(rawBefore) LIMIT \(maxRows)) RETURNING 1
                """)
            step.rawRowsDeleted += raw
            step.more = raw >= maxRows
            var budget = maxRows - raw
            for table in ["rollup_minute", "rollup_hour"] where budget > 0 {
                let deleted = try await sql.count(
                    PostgresQuery(
                        unsafeSQL: """
                            DELETE FROM \(table) WHERE (device_id, metric_id, bucket) IN (
                                SELECT device_id, metric_id, bucket FROM \(table) WHERE bucket < $1 LIMIT $2) RETURNING 1
                            """, binds: Self.binds(rollupsBefore, Int64(budget))))
                step.rollupRowsDeleted += deleted
                budget -= deleted
            }
            if budget <= 0 { step.more = true }
            if !step.more {
                step.seriesRemoved = try await sql.count(
                    """
                    DELETE FROM latest l WHERE l.ts < \(rollupsBefore)
                    AND NOT EXISTS (SELECT 1 FROM reading r WHERE r.device_id = l.device_id AND r.metric_id = l.metric_id)
                    AND NOT EXISTS (SELECT 1 FROM rollup_hour h WHERE h.device_id = l.device_id AND h.metric_id = l.metric_id)
                    AND NOT EXISTS (SELECT 1 FROM rollup_minute m WHERE m.device_id = l.device_id AND m.metric_id = l.metric_id)
                    RETURNING 1
                    """)
            }
            return step
        }
    }

    /// For `--max-db-size`: drops the oldest week's partition, never the
    /// newest one. PostgreSQL does not give back the space of deleted rows
    /// (only `VACUUM FULL` does, locking the table), so deleting rows would not
    /// bring the size down and the cap would go on deleting; a whole
    /// partition's space is freed at once. `maxRows` does not apply: a week
    /// goes whole. - Returns: the rows dropped, 0 when only one week is left.
    public func deleteOldestRaw(maxRows: Int) async throws -> Int {
        let existing = try await read { sql in try await self.existingPartitions(sql) }
        guard existing.count > 1, let oldest = existing.first else { return 0 }
        return try await dropPartitions { $0.week == oldest.week }
    }

    /// Drops the partitions `condition` picks. - Returns: the rows they held.
    private func dropPartitions(where condition: @Sendable ((week: Int64, name: String)) -> Bool) async throws -> Int {
        let doomed = try await read { sql in try await self.existingPartitions(sql) }.filter(condition)
        var dropped = 0
        for partition in doomed {
            dropped += try await write { sql in
                try await sql.run("SELECT pg_advisory_xact_lock(\(Self.migrationLock + 1))")
                let rows = try await sql.value(PostgresQuery(unsafeSQL: "SELECT count(*)::int8 FROM \(partition.name)"), as: Int64.self) ?? 0
                try await sql.run(PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS \(partition.name)"))
                return Int(rows)
            }
            _ = partitions.withLock { $0.remove(partition.week) }
        }
        return dropped
    }
}
