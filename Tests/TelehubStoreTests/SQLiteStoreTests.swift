import Foundation
import GRDB
import Testing
import TelehubAuth
import TelehubCore
@testable import TelehubStore

/// A fresh database file per test, so suites run in parallel.
struct TemporaryDatabase {
    let directory: URL
    var path: String { directory.appendingPathComponent("telehub.sqlite").path }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("telehub-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }
}

@Suite struct SQLiteStoreTests {
    @Test func commitStoresReadingsLatestAndProgress() async throws {
        let database = try TemporaryDatabase()
        let store = try SQLiteStore(path: database.path)
        let id = try await store.ensureDevice(named: "gh-1")
        try await store.commit(CommitBatch(
            points: [
                SeriesPoint(deviceID: id, metric: "t", ts: 2000, value: 2),
                SeriesPoint(deviceID: id, metric: "t", ts: 1000, value: 1),
                SeriesPoint(deviceID: id, metric: "h", ts: 1500, value: 50),
            ],
            progress: [DeviceProgress(deviceID: id, lastSeq: 3, lastSeen: 2500)]))
        let status = try #require(try await store.deviceStatus(named: "gh-1"))
        #expect(status.lastSeq == 3)
        #expect(status.lastSeen == 2500)
        #expect(status.metrics == ["t": LatestValue(ts: 2000, value: 2), "h": LatestValue(ts: 1500, value: 50)])
        #expect(try await store.lastSeq(deviceID: id) == 3)
        #expect(try await rowCount(store) == 3)
    }

    @Test func lastWriteWinsAndOlderDataKeepsLatest() async throws {
        let database = try TemporaryDatabase()
        let store = try SQLiteStore(path: database.path)
        let id = try await store.ensureDevice(named: "d")
        try await store.commit(CommitBatch(points: [
            SeriesPoint(deviceID: id, metric: "t", ts: 5000, value: 1),
            SeriesPoint(deviceID: id, metric: "t", ts: 5000, value: 2),
        ]))
        try await store.commit(CommitBatch(points: [SeriesPoint(deviceID: id, metric: "t", ts: 5000, value: 3)]))
        // A late, older point is stored but does not replace the latest value.
        try await store.commit(CommitBatch(points: [SeriesPoint(deviceID: id, metric: "t", ts: 4000, value: 9)]))
        #expect(try await rowCount(store) == 2)
        #expect(try await store.storedValues().map(\.value) == [9, 3])
        #expect(try await store.deviceStatus(named: "d")?.metrics["t"] == LatestValue(ts: 5000, value: 3))
    }

    @Test func lastSeqNeverGoesBack() async throws {
        let database = try TemporaryDatabase()
        let store = try SQLiteStore(path: database.path)
        let id = try await store.ensureDevice(named: "d")
        try await store.commit(CommitBatch(progress: [DeviceProgress(deviceID: id, lastSeq: 10, lastSeen: 1)]))
        try await store.commit(CommitBatch(progress: [DeviceProgress(deviceID: id, lastSeq: 4, lastSeen: 2)]))
        #expect(try await store.lastSeq(deviceID: id) == 10)
    }

    @Test func migrationsRunOnNewAndExistingFiles() async throws {
        let database = try TemporaryDatabase()
        do {
            let store = try SQLiteStore(path: database.path)
            #expect(try store.appliedMigrations() == SQLiteStore.migrator.migrations)
            #expect(SQLiteStore.migrator.migrations.first == "v1-foundation")
            _ = try await store.createToken(kind: .device, device: "keep", label: nil, expiresAt: nil)
        }
        let reopened = try SQLiteStore(path: database.path)
        #expect(try reopened.appliedMigrations() == SQLiteStore.migrator.migrations)
        #expect(try await reopened.devices().map(\.name) == ["keep"])
        let mode = try await reopened.pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(mode == "wal")
    }

    @Test func tokensAreStoredAsHashesAndRevocable() async throws {
        let database = try TemporaryDatabase()
        let store = try SQLiteStore(path: database.path)
        let (secret, record) = try await store.createToken(kind: .device, device: "pi", label: "lab", expiresAt: 99)
        let found = try #require(try await store.token(hash: secret.hash))
        #expect(found.record == record)
        #expect(found.deviceID != nil)
        let stored = try await store.pool.read { db in try Data.fetchOne(db, sql: "SELECT hash FROM token") }
        #expect(stored.map(Array.init) == secret.hash)
        // The secret itself is nowhere in the files: not in a column, not in a page.
        _ = try await store.pool.writeWithoutTransaction { db in try db.checkpoint(.truncate) }
        for file in [database.path, database.path + "-wal"] {
            let bytes = (try? Data(contentsOf: URL(fileURLWithPath: file))) ?? Data()
            #expect(bytes.range(of: Data(secret.value.utf8)) == nil, "the secret is in \(file)")
            #expect(bytes.range(of: Data(secret.value.dropFirst(4).utf8)) == nil, "the secret's random part is in \(file)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: database.path)).range(of: Data(secret.hash)) != nil)
        #expect(try await store.revokeToken(id: record.id))
        #expect(try await store.token(hash: secret.hash)?.record.revoked == true)
        #expect(try await store.revokeToken(id: 12345) == false)
        #expect(try await store.devices().first?.tokens == 0)
    }

    @Test func readTokensHaveNoDeviceAndInvalidNamesAreRefused() async throws {
        let database = try TemporaryDatabase()
        let store = try SQLiteStore(path: database.path)
        let (_, read) = try await store.createToken(kind: .read, device: nil, label: nil, expiresAt: nil)
        #expect(read.device == nil)
        await #expect(throws: StoreError.invalidDeviceName("bad name")) {
            try await store.createToken(kind: .device, device: "bad name", label: nil, expiresAt: nil)
        }
        #expect(try await store.devices().isEmpty)
    }

    @Test func deletingADeviceRemovesItsDataAndTokens() async throws {
        let database = try TemporaryDatabase()
        let store = try SQLiteStore(path: database.path)
        let (secret, _) = try await store.createToken(kind: .device, device: "gone", label: nil, expiresAt: nil)
        let id = try await store.ensureDevice(named: "gone")
        let other = try await store.ensureDevice(named: "stays")
        // Two hours each: the first is complete, so it has a rollup row.
        try await store.commit(CommitBatch(points: [
            SeriesPoint(deviceID: id, metric: "t", ts: 1, value: 1),
            SeriesPoint(deviceID: other, metric: "t", ts: 1, value: 1),
            SeriesPoint(deviceID: id, metric: "t", ts: 3_600_001, value: 1),
            SeriesPoint(deviceID: other, metric: "t", ts: 3_600_001, value: 1),
        ]))
        #expect(try await store.deleteDevice(named: "gone"))
        #expect(try await store.deleteDevice(named: "gone") == false)
        #expect(try await store.token(hash: secret.hash) == nil)
        #expect(try await rowCount(store) == 2)
        #expect(try await store.deviceStatuses().map(\.name) == ["stays"])
        let rollups = try await store.pool.read { db in
            try Int64.fetchAll(db, sql: "SELECT device_id FROM rollup UNION ALL SELECT device_id FROM chunk")
        }
        #expect(rollups == [other, other])  // only the remaining device's hour and chunk
        #expect(try await store.rollupMismatches() == 0)
    }

    @Test func tokenUsageIsRecorded() async throws {
        let database = try TemporaryDatabase()
        let store = try SQLiteStore(path: database.path)
        let (_, record) = try await store.createToken(kind: .read, device: nil, label: nil, expiresAt: nil)
        try await store.markTokensUsed([record.id: 1234])
        #expect(try await store.tokens().first?.lastUsedAt == 1234)
    }

    private func rowCount(_ store: SQLiteStore) async throws -> Int {
        try await store.storedValues().count
    }
}
