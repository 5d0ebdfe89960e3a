import Synchronization
import PostgresNIO

/// `reading` is split into one partition per week of `ts`, so retention
/// drops whole weeks (no row deletes, no bloat) and a query for a day reads
/// one or two partitions. Timestamps the ingest path accepts start in 2000,
/// so there are at most about 55 partitions a year of data kept.
extension PostgresStore {
    static let weekMs: Int64 = 7 * 86_400_000

    static func week(of ts: Int64) -> Int64 {
        ts >= 0 ? ts / weekMs : (ts + 1) / weekMs - 1
    }

    static func partitionName(week: Int64) -> String {
        week >= 0 ? "reading_w\(week)" : "reading_wm\(-week)"
    }

    /// Creates the partitions these weeks need, each in its own short
    /// transaction before the commit that writes into it: creating a
    /// partition locks the parent table, which a long commit must not hold.
    func ensurePartitions(weeks: Set<Int64>) async throws {
        let missing = partitions.withLock { weeks.subtracting($0) }
        guard !missing.isEmpty else { return }
        for week in missing.sorted() {
            let name = Self.partitionName(week: week)
            let from = week * Self.weekMs
            try await write { sql in
                // Two instances may reach a new week together: one creates, the other finds it.
                try await sql.run("SELECT pg_advisory_xact_lock(\(Self.migrationLock + 1))")
                try await sql.run(
                    PostgresQuery(
                        unsafeSQL: "CREATE TABLE IF NOT EXISTS \(name) PARTITION OF reading FOR VALUES FROM (\(from)) TO (\(from + Self.weekMs))"))
            }
            _ = partitions.withLock { $0.insert(week) }
        }
    }

    /// The partitions that exist, oldest first, as (week, name).
    func existingPartitions(_ sql: SQLSession) async throws -> [(week: Int64, name: String)] {
        let names = try await sql.column(
            """
            SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'reading'::regclass
            """, as: String.self)
        return names.compactMap { name -> (Int64, String)? in
            if name.hasPrefix("reading_wm"), let week = Int64(name.dropFirst(10)) { return (-week, name) }
            if name.hasPrefix("reading_w"), let week = Int64(name.dropFirst(9)) { return (week, name) }
            return nil
        }.sorted { $0.0 < $1.0 }
    }
}
