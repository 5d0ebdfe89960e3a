import Foundation
import GRDB
import Synchronization
import Testing
import TelehubAuth
import TelehubCore
@testable import TelehubSQLite
import TelehubStore

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
    @Test func migrationsRunOnNewAndExistingFiles() async throws {
        let database = try TemporaryDatabase()
        do {
            let store = try SQLiteStore(path: database.path)
            #expect(try store.appliedMigrations() == SQLiteStore.migrator.migrations)
            #expect(SQLiteStore.migrator.migrations.first == "v1-foundation")
            _ = try await store.mintToken(kind: .device, device: "keep", label: nil, expiresAt: nil)
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
        let (secret, record) = try await store.mintToken(kind: .device, device: "pi", label: "lab", expiresAt: 99)
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

    /// Lookups from many threads at once share a few connections: each finds
    /// its own token, and a revocation shows at the next lookup on every one of them.
    @Test func concurrentTokenLookupsEachFindTheirOwnAndSeeARevocationAtOnce() async throws {
        let database = try TemporaryDatabase()
        let store = try SQLiteStore(path: database.path)
        var minted: [(hash: [UInt8], label: String, id: Int64)] = []
        for index in 0..<12 {
            let (secret, record) = try await store.mintToken(kind: .device, device: "d\(index)", label: "l\(index)", expiresAt: nil)
            minted.append((secret.hash, "l\(index)", record.id))
        }
        let tokens = minted
        /// Every lookup's answer, made from 8 threads at once.
        func lookUp(_ pick: @escaping @Sendable (Int) -> [UInt8]) async -> [StoredToken?] {
            await withCheckedContinuation { continuation in
                DispatchQueue.global().async {
                    // Each answer is written by one thread only, and concurrentPerform
                    // returns after all of them: no lock. (ThreadSanitizer cannot see
                    // Mutex's synchronization in a debug build and reports its users.)
                    nonisolated(unsafe) let answers = UnsafeMutableBufferPointer<StoredToken?>.allocate(capacity: 400)
                    answers.initialize(repeating: nil)
                    defer { answers.deallocate() }
                    DispatchQueue.concurrentPerform(iterations: 8) { thread in
                        for index in stride(from: thread, to: 400, by: 8) {
                            let found = try? store.tokens.read { db in
                                try GRDB.Row.fetchOne(db, sql: "SELECT id, revoked_at, label FROM token WHERE hash = ?", arguments: [Data(pick(index))])
                                    .map { row in
                                        StoredToken(
                                            record: TokenRecord(
                                                id: row[0], kind: .device, device: nil, label: row[2], createdAt: 0, lastUsedAt: nil,
                                                expiresAt: nil, revoked: (row[1] as Int64?) != nil),
                                            deviceID: nil, hash: [])
                                    }
                            }
                            answers[index] = found ?? nil
                        }
                    }
                    continuation.resume(returning: Array(answers))
                }
            }
        }
        let answers = await lookUp { tokens[$0 % tokens.count].hash }
        #expect(answers.enumerated().allSatisfy { $0.element?.record.label == tokens[$0.offset % tokens.count].label })
        #expect(try await store.revokeToken(id: tokens[3].id))
        let afterwards = await lookUp { _ in tokens[3].hash }
        #expect(afterwards.allSatisfy { $0?.record.revoked == true })
        #expect(try await store.token(hash: tokens[4].hash)?.record.revoked == false)
    }

    @Test func deletingADeviceRemovesItsDataAndTokens() async throws {
        let database = try TemporaryDatabase()
        let store = try SQLiteStore(path: database.path)
        let (secret, _) = try await store.mintToken(kind: .device, device: "gone", label: nil, expiresAt: nil)
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

    private func rowCount(_ store: SQLiteStore) async throws -> Int {
        try await store.storedValues().count
    }
}
