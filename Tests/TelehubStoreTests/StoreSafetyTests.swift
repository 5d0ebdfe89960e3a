import Foundation
import GRDB
import Synchronization
import Testing
import TelehubCore
@testable import TelehubSQLite
import TelehubStore

@Suite struct StoreSafetyTests {
    /// SQLite binds at most 32766 variables per statement; the revocation check
    /// once bound one per live token, and failed for everyone past that.
    @Test func revocationCheckHandlesMoreTokensThanSQLiteVariables() async throws {
        let database = try TemporaryDatabase()
        let store = try SQLiteStore(path: database.path)
        let (_, kept) = try await store.mintToken(kind: .read, device: nil, label: nil, expiresAt: nil)
        let (_, revoked) = try await store.mintToken(kind: .read, device: nil, label: nil, expiresAt: nil)
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
            try Int64.fetchAll(db, sql: "SELECT device_id FROM chunk UNION ALL SELECT device_id FROM latest")
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
        let (_, token) = try await store.mintToken(kind: .read, device: nil, label: nil, expiresAt: nil)
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
