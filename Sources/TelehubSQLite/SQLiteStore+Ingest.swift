import Synchronization
import GRDB
import TelehubCore
public import TelehubStore

extension SQLiteStore {
    @discardableResult
    public func commit(_ batch: CommitBatch) async throws -> CommitResult {
        guard !batch.isEmpty else { return CommitResult() }
        let known = metricIDs.withLock { $0 }
        let outcome: (created: [String: Int64], missing: Set<Int64>, commit: Int, commands: [CommandRecord], states: [Int64: DeviceState])
        do {
            outcome = try await writeClassifyingFaults { db in
                // Inside the transaction: commits are serialized here, so the cache is the last commit's.
                // The writer takes the tails over rather than sharing them: a
                // dictionary held twice is copied whole at its first change,
                // every series of the fleet on every commit.
                var cached = self.chunkCache.withLock { cache -> ChunkCache in
                    let taken = cache
                    cache.tails = [:]
                    return taken
                }
                let dataVersion = try Int64.fetchOne(db, sql: "PRAGMA data_version") ?? -2
                let current = self.chunkGeneration.withLock { $0 }
                let trusted = cached.confirmed && cached.dataVersion == dataVersion && cached.generation == current
                let missing = try Self.missingDevices(of: batch, db)
                let points = missing.isEmpty ? batch.points : batch.points.filter { !missing.contains($0.deviceID) }
                var ids = known
                var newIDs: [String: Int64] = [:]
                let rows = try Self.sortedRows(points, ids: &ids, created: &newIDs, db)
                var writer = ChunkWriter(tails: cached.takeTails(), trusted: trusted)
                try Self.writeChunks(rows, &writer, db)
                try RollupTable.apply(&writer.changes, db)
                try RollupTable.complete(writer.completed, gathered: writer.gathered, db)
                try Self.updateLatest(rows, db)
                try Self.advance(batch.progress, db)
                if !batch.alerts.isEmpty { try Self.writeAlertChanges(batch.alerts, skipping: missing, now: EpochClock.nowMs(), db) }
                let now = EpochClock.nowMs()
                let commands = try batch.commands.compactMap { try Self.change($0, now: now, db) }
                var states: [Int64: DeviceState] = [:]
                for report in batch.reports where !missing.contains(report.deviceID) {
                    if let state = try Self.applyReport(report, now: now, db) { states[report.deviceID] = state }
                }
                // Kept for the next commit; bounded, since a miss costs only a query and a decode.
                let tails = writer.tails.count <= Self.seriesTailsKept ? writer.tails : [:]
                let commit = cached.commit + 1
                self.chunkCache.withLock {
                    $0 = ChunkCache(tails: tails, dataVersion: dataVersion, generation: current, commit: commit, confirmed: false)
                }
                return (newIDs, missing, commit, commands, states)
            }
        } catch {
            chunkCache.withLock { $0 = ChunkCache() }
            throw error
        }
        chunkCache.withLock { if $0.commit == outcome.commit { $0.confirmed = true } }
        if !outcome.created.isEmpty {
            metricIDs.withLock { $0.merge(outcome.created) { old, _ in old } }
        }
        return CommitResult(missingDevices: outcome.missing, commands: outcome.commands, states: outcome.states)
    }

    /// Series tails kept in memory between commits at most (a few KiB each).
    static let seriesTailsKept = 20_000

    public func lastSeq(deviceID: Int64) async throws -> Int64 {
        try await pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT last_seq FROM device WHERE id = ?", arguments: [deviceID]) ?? 0
        }
    }

    /// Devices of the batch that no longer exist (deleted while their
    /// messages were queued): their points are not written, so a deleted
    /// device leaves no rows behind.
    private static func missingDevices(of batch: CommitBatch, _ db: Database) throws -> Set<Int64> {
        var devices = Set(batch.progress.map(\.deviceID))
        var last: Int64?
        for point in batch.points where point.deviceID != last {
            devices.insert(point.deviceID)
            last = point.deviceID
        }
        let exists = try db.cachedStatement(sql: "SELECT 1 FROM device WHERE id = ?")
        return try devices.filter { id in try Int.fetchOne(exists, arguments: [id]) == nil }
    }

    public func metricNames(deviceID: Int64) async throws -> [String] {
        try await pool.read { db in
            try String.fetchAll(
                db, sql: "SELECT m.name FROM latest l JOIN metric m ON m.id = l.metric_id WHERE l.device_id = ?",
                arguments: [deviceID])
        }
    }

    /// A row ready to insert, in the table's key order.
    struct Row: Comparable {
        var deviceID: Int64
        var metricID: Int64
        var ts: Int64
        var value: Double
        /// Arrival order, so that among equal keys the last one written wins.
        var order: Int

        func hasSameKey(as other: Row) -> Bool {
            deviceID == other.deviceID && metricID == other.metricID && ts == other.ts
        }

        static func < (lhs: Row, rhs: Row) -> Bool {
            (lhs.deviceID, lhs.metricID, lhs.ts, lhs.order) < (rhs.deviceID, rhs.metricID, rhs.ts, rhs.order)
        }
    }

    /// The points as rows with metric ids, sorted by series and time, so each
    /// series' values reach its chunk together and in order. A name not in
    /// `ids` is found or created in the table, and added to `ids` and `created`.
    static func sortedRows(
        _ points: [SeriesPoint], ids: inout [String: Int64], created: inout [String: Int64], _ db: Database
    ) throws -> [Row] {
        var recent = RecentMetrics()
        var rows: [Row] = []
        rows.reserveCapacity(points.count)
        for (index, point) in points.enumerated() {
            let metricID: Int64
            if let known = recent.id(of: point.metric, in: ids) {
                metricID = known
            } else {
                metricID = try Self.metricID(creating: point.metric, db)
                ids[point.metric] = metricID
                created[point.metric] = metricID
            }
            rows.append(Row(deviceID: point.deviceID, metricID: metricID, ts: point.ts, value: point.value, order: index))
        }
        rows.sort()
        return rows
    }

    private static func metricID(creating name: String, _ db: Database) throws -> Int64 {
        try db.execute(sql: "INSERT INTO metric (name) VALUES (?) ON CONFLICT (name) DO NOTHING", arguments: [name])
        guard let id = try Int64.fetchOne(db, sql: "SELECT id FROM metric WHERE name = ?", arguments: [name]) else {
            throw StoreError.metricMissing(name)
        }
        return id
    }

    /// Hands each series' values to the chunk writer: sorted by time, the
    /// last of equal timestamps only (last write wins within a commit too).
    private static func writeChunks(_ rows: [Row], _ writer: inout ChunkWriter, _ db: Database) throws {
        var unique: [Row] = []
        unique.reserveCapacity(rows.count)
        for (index, row) in rows.enumerated() where index + 1 == rows.count || !rows[index + 1].hasSameKey(as: row) {
            unique.append(row)
        }
        var start = 0
        while start < unique.count {
            let key = SeriesKey(deviceID: unique[start].deviceID, metricID: unique[start].metricID)
            var end = start + 1
            while end < unique.count, unique[end].deviceID == key.deviceID, unique[end].metricID == key.metricID { end += 1 }
            try writer.write(key, unique[start..<end], db)
            start = end
        }
    }

    /// Keeps one row per series with the newest `ts`; rows are sorted, so the
    /// last row of each series is its newest (and last written) value.
    private static func updateLatest(_ rows: [Row], _ db: Database) throws {
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO latest (device_id, metric_id, ts, value) VALUES (?, ?, ?, ?)
                ON CONFLICT (device_id, metric_id) DO UPDATE SET ts = excluded.ts, value = excluded.value
                WHERE excluded.ts >= latest.ts
                """)
        for (index, row) in rows.enumerated() {
            let next = index + 1 < rows.count ? rows[index + 1] : nil
            if let next, next.deviceID == row.deviceID, next.metricID == row.metricID { continue }
            statement.setUncheckedArguments([row.deviceID, row.metricID, row.ts, row.value])
            try statement.execute()
        }
    }

    private static func advance(_ progress: [DeviceProgress], _ db: Database) throws {
        let statement = try db.cachedStatement(
            sql: """
                UPDATE device SET last_seq = max(last_seq, coalesce(?, 0)),
                                  last_seen = max(coalesce(last_seen, 0), ?)
                WHERE id = ?
                """)
        for item in progress {
            statement.setUncheckedArguments([item.lastSeq, item.lastSeen, item.deviceID])
            try statement.execute()
        }
    }
}
