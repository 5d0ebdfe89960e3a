import Foundation
import GRDB
import Testing
import TelehubCore
@testable import TelehubSQLite
import TelehubStore

@Suite struct RetentionTests {
    let day: Int64 = 86_400_000
    let now: Int64 = 1_732_200_000_000

    @Test func deletesOnlyWhatIsOldInSmallSteps() async throws {
        let store = try SQLiteStore(path: try TemporaryDatabase().path)
        let id = try await store.ensureDevice(named: "d")
        try await store.commit(CommitBatch(points: Fixtures.halfHourly(id, until: now)))
        let cutoff = now - 30 * day
        let keptBefore = try await store.storedValues().filter { $0.ts >= cutoff }
        var steps: [RetentionStep] = []
        repeat {
            steps.append(try await store.deleteExpired(rawBefore: cutoff, rollupsBefore: now - 35 * day, maxRows: 100))
        } while steps.last!.more && steps.count < 100
        #expect(steps.allSatisfy { $0.rawRowsDeleted + $0.rollupRowsDeleted <= 100 })
        #expect(steps.count > 5)
        #expect(steps.reduce(0) { $0 + $1.rawRowsDeleted } == 2 * 10 * 48)
        #expect(try await store.storedValues() == keptBefore)
        // Rollups outlive raw values: the days between the two cutoffs are still there.
        #expect(try await count(store, "rollup WHERE hour < \(now - 35 * day)") == 0)
        #expect(try await count(store, "rollup WHERE hour >= \(now - 35 * day) AND hour < \(cutoff)") > 0)
        #expect(try await store.deviceStatus(named: "d")?.metrics.count == 2)
    }

    @Test func sizeCapDeletesTheOldestChunksFirst() async throws {
        let store = try SQLiteStore(path: try TemporaryDatabase().path)
        let id = try await store.ensureDevice(named: "d")
        // Twelve hours at 1 Hz of noisy two-decimal values: a dozen chunks or so.
        var generator = SplitMix(seed: 3)
        try await store.commit(CommitBatch(points: (0..<43_200).map {
            SeriesPoint(deviceID: id, metric: "a", ts: now + Int64($0) * 1000, value: Double(Int.random(in: 0...9999, using: &generator)) / 100)
        }))
        let before = try await store.storageBytes()
        let pagesBefore = try await store.pool.read { db in try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0 }
        let deleted = try await store.deleteOldestRaw(maxRows: 5000)
        let left = try await store.storedValues()
        #expect(deleted > 0 && deleted <= 8192)
        #expect(left.count == 43_200 - deleted)
        // The oldest went: what is left is exactly the newest values.
        #expect(left.first?.ts == now + Int64(deleted) * 1000)
        // The cap is met by shrinking: fewer bytes in use, and the freed pages
        // returned to the file system (incremental vacuum), not kept in the file.
        let after = try await store.storageBytes()
        let pagesAfter = try await store.pool.read { db in try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0 }
        #expect(after < before, "\(before) → \(after) bytes")
        #expect(pagesAfter < pagesBefore, "\(pagesBefore) → \(pagesAfter) pages")
    }

    @Test func newFilesUseIncrementalVacuum() async throws {
        let store = try SQLiteStore(path: try TemporaryDatabase().path)
        let mode = try await store.pool.read { db in try Int.fetchOne(db, sql: "PRAGMA auto_vacuum") }
        #expect(mode == 2)
    }

    func count(_ store: SQLiteStore, _ from: String) async throws -> Int {
        try await store.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM \(from)") ?? 0 }
    }
}
