import Foundation
import GRDB
import Synchronization
import Testing
import TelehubCore
@testable import TelehubStore

@Suite struct StoreSafetyTests {
    /// SQLite binds at most 32766 variables per statement; the revocation check
    /// once bound one per live token, and failed for everyone past that.
    @Test func revocationCheckHandlesMoreTokensThanSQLiteVariables() async throws {
        let database = try TemporaryDatabase()
        let store = try SQLiteStore(path: database.path)
        let (_, kept) = try await store.createToken(kind: .read, device: nil, label: nil, expiresAt: nil)
        let (_, revoked) = try await store.createToken(kind: .read, device: nil, label: nil, expiresAt: nil)
        _ = try await store.revokeToken(id: revoked.id)
        let unknown = Set((1_000_000..<1_040_000).map { Int64($0) })
        let ended = try await store.endedTokens(among: unknown.union([kept.id, revoked.id]), at: EpochClock.nowMs())
        #expect(ended.count == unknown.count + 1)
        #expect(ended.contains(revoked.id) && !ended.contains(kept.id))
    }

    @Test func deviceIDsAreNeverReused() async throws {
        let database = try TemporaryDatabase()
        let store = try SQLiteStore(path: database.path)
        _ = try await store.ensureDevice(named: "a")
        let first = try await store.ensureDevice(named: "b")
        try await store.commit(CommitBatch(
            points: [SeriesPoint(deviceID: first, metric: "t", ts: 1, value: 1)],
            progress: [DeviceProgress(deviceID: first, lastSeq: 3, lastSeen: 1)]))
        #expect(try await store.deleteDevice(named: "b"))
        let second = try await store.ensureDevice(named: "b")
        #expect(second > first)
        #expect(try await store.lastSeq(deviceID: second) == 0)
    }

    /// A flush in flight when its device was deleted must not leave rows behind.
    @Test func commitForADeletedDeviceStoresNothing() async throws {
        let database = try TemporaryDatabase()
        let store = try SQLiteStore(path: database.path)
        let gone = try await store.ensureDevice(named: "gone")
        let kept = try await store.ensureDevice(named: "kept")
        #expect(try await store.deleteDevice(named: "gone"))
        let result = try await store.commit(CommitBatch(
            points: [
                SeriesPoint(deviceID: gone, metric: "t", ts: 1, value: 1),
                SeriesPoint(deviceID: kept, metric: "t", ts: 1, value: 2),
            ],
            progress: [DeviceProgress(deviceID: gone, lastSeq: 1, lastSeen: 1), DeviceProgress(deviceID: kept, lastSeq: 1, lastSeen: 1)]))
        #expect(result.missingDevices == [gone])
        let rows = try await store.pool.read { db in
            try Int64.fetchAll(db, sql: "SELECT device_id FROM reading UNION ALL SELECT device_id FROM latest")
        }
        #expect(rows == [kept, kept])
    }

    @Test func aForeignDatabaseIsRefusedUntouched() throws {
        let database = try TemporaryDatabase()
        let queue = try DatabaseQueue(path: database.path)
        try queue.write { db in try db.execute(sql: "CREATE TABLE invoices (id INTEGER PRIMARY KEY)") }
        try queue.close()
        let before = try Data(contentsOf: URL(fileURLWithPath: database.path))
        #expect {
            _ = try SQLiteStore(path: database.path)
        } throws: { error in
            guard case StoreError.notTelehubDatabase(let path, _) = error else { return false }
            return path == database.path
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: database.path)) == before)
    }

    @Test func aNewFileIsMarkedAndReopens() async throws {
        let database = try TemporaryDatabase()
        _ = try SQLiteStore(path: database.path)
        let id = try await DatabaseQueue(path: database.path).read { db in try Int32.fetchOne(db, sql: "PRAGMA application_id") }
        #expect(id == DatabaseFileCheck.applicationID)
        _ = try SQLiteStore(path: database.path)
    }

    @Test func webSessionsEndWithTheirTokenAndAtLogout() async throws {
        let database = try TemporaryDatabase()
        let store = try SQLiteStore(path: database.path)
        let (_, token) = try await store.createToken(kind: .read, device: nil, label: nil, expiresAt: nil)
        let now = EpochClock.nowMs()
        let hash = Array(repeating: UInt8(7), count: 32)
        try await store.createWebSession(hash: hash, tokenID: token.id, expiresAt: now + 60_000)
        #expect(try await store.webSessionToken(hash: hash, at: now)?.record.id == token.id)
        #expect(try await store.webSessionToken(hash: hash, at: now + 60_000) == nil)
        try await store.deleteWebSession(hash: hash)
        #expect(try await store.webSessionToken(hash: hash, at: now) == nil)
    }

    @Test func aBusyDatabaseIsReportedAsUnavailable() async throws {
        let database = try TemporaryDatabase()
        let store = try SQLiteStore(path: database.path, busyTimeout: 0.2)
        let id = try await store.ensureDevice(named: "d")
        // Another process's lock, held for 1.5 s.
        let other = try DatabaseQueue(path: database.path)
        let locked = Latch()
        let release = Latch()
        let holder = Task.detached {
            try other.inTransaction(.exclusive) { _ in
                locked.open()
                while !release.isOpen { Thread.sleep(forTimeInterval: 0.01) }
                return .rollback
            }
        }
        while !locked.isOpen { try await Task.sleep(for: .milliseconds(10)) }
        await #expect(throws: StoreUnavailable.self) {
            try await store.commit(CommitBatch(points: [SeriesPoint(deviceID: id, metric: "t", ts: 1, value: 1)]))
        }
        #expect(await store.writeProblem(probe: true)?.contains("locked") == true)
        release.open()
        try await holder.value
        #expect(await store.writeProblem(probe: true) == nil)
        try await store.commit(CommitBatch(points: [SeriesPoint(deviceID: id, metric: "t", ts: 1, value: 1)]))
    }
}

/// Whatever valid values arrive, in whatever order and with repeats, the
/// store holds exactly the last one written per device, metric and time.
@Suite struct StoredExactlyPropertyTests {
    @Test func randomFlushesAreStoredExactly() async throws {
        let database = try TemporaryDatabase()
        let store = try SQLiteStore(path: database.path)
        let devices = [try await store.ensureDevice(named: "a"), try await store.ensureDevice(named: "b")]
        var random = SplitMix(seed: 3)
        var expected: [String: Double] = [:]
        for _ in 0..<40 {
            var points: [SeriesPoint] = []
            for _ in 0..<Int.random(in: 1...300, using: &random) {
                let point = SeriesPoint(
                    deviceID: devices.randomElement(using: &random) ?? 0,
                    metric: ["t", "h", "v.1", "_x"].randomElement(using: &random) ?? "t",
                    ts: IngestLimits.earliestTimestamp + Int64.random(in: 0..<200_000, using: &random) * 997,
                    value: [1e100, -1e100, 0, 21.37, Double(Int.random(in: -50...50, using: &random))]
                        .randomElement(using: &random) ?? 0)
                points.append(point)
                expected["\(point.deviceID)/\(point.metric)/\(point.ts)"] = point.value
            }
            try await store.commit(CommitBatch(points: points))
        }
        let stored = try store.pool.read { db in
            try GRDB.Row.fetchAll(
                db, sql: "SELECT r.device_id, m.name, r.ts, r.value FROM reading r JOIN metric m ON m.id = r.metric_id")
        }
        var actual: [String: Double] = [:]
        for row in stored {
            let (device, metric, ts, value): (Int64, String, Int64, Double) = (row[0], row[1], row[2], row[3])
            actual["\(device)/\(metric)/\(ts)"] = value
        }
        #expect(actual == expected)
        // Every hour bucket's count matches the raw rows (rollups stay exact).
        let mismatched = try await store.pool.read { db in
            try Int.fetchOne(db, sql: """
                SELECT count(*) FROM rollup_1h h WHERE h.count != (SELECT count(*) FROM reading r
                WHERE r.device_id = h.device_id AND r.metric_id = h.metric_id AND r.ts >= h.bucket AND r.ts < h.bucket + 3600000)
                """) ?? -1
        }
        #expect(mismatched == 0)
    }
}

/// Opens once, for one thread to tell another that it may go on.
final class Latch: Sendable {
    private let state = Mutex(false)
    var isOpen: Bool { state.withLock { $0 } }
    func open() { state.withLock { $0 = true } }
}

@Suite struct FreshDevicesMigrationTests {
    /// A file written before device ids were AUTOINCREMENT keeps its devices,
    /// tokens and readings, and loses the rows a deleted device left behind.
    @Test func aFileFromBeforeKeepsItsDataAndLosesOrphans() async throws {
        let database = try TemporaryDatabase()
        let queue = try DatabaseQueue(path: database.path)
        try SQLiteStore.migrator.migrate(queue, upTo: "v2-rollups")
        try await queue.write { db in
            try db.execute(sql: """
                INSERT INTO device (id, name, created_at, last_seq) VALUES (1, 'kept', 0, 5);
                INSERT INTO metric (id, name) VALUES (1, 't');
                INSERT INTO token (kind, device_id, hash, created_at) VALUES ('device', 1, x'01', 0);
                INSERT INTO reading VALUES (1, 1, 1000, 1.5), (9, 1, 1000, 2.5);
                INSERT INTO latest VALUES (1, 1, 1000, 1.5), (9, 1, 1000, 2.5);
                INSERT INTO rollup_1m VALUES (9, 1, 0, 2.5, 2.5, 2.5, 1);
                """)
        }
        try queue.close()
        let store = try SQLiteStore(path: database.path)
        #expect(try store.appliedMigrations() == SQLiteStore.migrator.migrations)
        let devices = try await store.devices()
        #expect(devices.map(\.name) == ["kept"] && devices.first?.id == 1 && devices.first?.lastSeq == 5)
        #expect(try await store.tokens().count == 1)
        let rows = try await store.pool.read { db in
            try Int64.fetchAll(db, sql: "SELECT device_id FROM reading UNION ALL SELECT device_id FROM latest UNION ALL SELECT device_id FROM rollup_1m")
        }
        #expect(rows == [1, 1])
        // The token still belongs to its device: deleting the device deletes it.
        #expect(try await store.deleteDevice(named: "kept"))
        #expect(try await store.tokens().isEmpty)
        #expect(try await store.ensureDevice(named: "kept") > 1)
    }
}
