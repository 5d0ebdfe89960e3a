import Foundation
import GRDB
import Testing
import TelehubCore
@testable import TelehubSQLite
import TelehubStore

/// The rollups must always equal aggregating the raw rows, whatever order
/// values arrive in and however often they are overwritten.
@Suite struct RollupTests {
    let hour: Int64 = 3_600_000
    let base: Int64 = 1_732_190_400_000  // a whole hour

    func store() async throws -> (SQLiteStore, Int64) {
        let store = try SQLiteStore(path: try TemporaryDatabase().path)
        return (store, try await store.ensureDevice(named: "gh"))
    }

    @Test func rollupsEqualRawAfterOverwritesAndLateData() async throws {
        let (store, id) = try await store()
        try await Fixtures.commitShuffledHoursWithOverwrites(store, id, base: base)
        try await expectTiersMatchRaw(store)
        for points in [5, 37, 500] {
            let fromRollups = try await store.history(device: "gh", metric: "t", from: base - 12_345, to: base + 3 * hour + 999, points: points)
            let fromRaw = try await store.historyFromRawRows(device: "gh", metric: "t", from: base - 12_345, to: base + 3 * hour + 999, points: points)
            #expect(fromRollups == fromRaw)
            guard case .buckets(_, let buckets) = try #require(fromRollups) else {
                Issue.record("expected buckets")
                continue
            }
            #expect(buckets.count <= points)
            #expect(buckets.reduce(0) { $0 + $1.aggregate.count } == 1081)
            #expect(buckets.map(\.aggregate.min).min() == -500)
        }
    }

    @Test func existingReadingsGetRollupsWhenMigrating() async throws {
        let database = try TemporaryDatabase()
        let queue = try DatabaseQueue(path: database.path)
        try SQLiteStore.migrator.migrate(queue, upTo: "v1-foundation")
        try await queue.write { db in
            try db.execute(sql: "INSERT INTO device (id, name, created_at) VALUES (1, 'old', 0)")
            try db.execute(sql: "INSERT INTO metric (id, name) VALUES (1, 't')")
            for i in 0..<120 {
                try db.execute(sql: "INSERT INTO reading VALUES (1, 1, ?, ?)", arguments: [base + Int64(i) * 1000, Double(i)])
            }
            try db.execute(sql: "INSERT INTO latest VALUES (1, 1, ?, 119)", arguments: [base + 119_000])
        }
        try queue.close()
        let store = try SQLiteStore(path: database.path)
        #expect(try store.appliedMigrations().contains("v4-chunks"))
        #expect(try await store.storedValues().map(\.value) == (0..<120).map(Double.init))
        var steps = 0
        while try await store.migrateStep(maxValues: 50) { steps += 1 }
        #expect(steps == 1)  // the two minutes lie in one hour, which moves whole
        #expect(try await store.storedValues().map(\.value) == (0..<120).map(Double.init))
        try await expectTiersMatchRaw(store)
    }

    /// Every stored minute and hour equals the aggregate of the stored values over its span.
    func expectTiersMatchRaw(_ store: SQLiteStore) async throws {
        #expect(try await store.rollupMismatches() == 0)
    }
}
