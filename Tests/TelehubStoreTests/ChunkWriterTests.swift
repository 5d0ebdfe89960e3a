import Foundation
import GRDB
import Testing
import TelehubCore
@testable import TelehubSQLite
import TelehubStore

/// The chunk layout keeps the row layout's promises: last write wins
/// anywhere (inside sealed chunks too), late and backfilled values land in
/// order, chunks stay within a page, and what is stored is exactly what was
/// sent.
@Suite struct ChunkWriterTests {
    let base: Int64 = 1_732_190_400_000

    func store() async throws -> (SQLiteStore, Int64, TemporaryDatabase) {
        let database = try TemporaryDatabase()
        let store = try SQLiteStore(path: database.path)
        return (store, try await store.ensureDevice(named: "d"), database)
    }

    func points(_ id: Int64, _ range: Range<Int>, metric: String = "t", value: (Int) -> Double) -> [SeriesPoint] {
        range.map { SeriesPoint(deviceID: id, metric: metric, ts: base + Int64($0) * 1000, value: value($0)) }
    }

    func chunks(_ store: SQLiteStore) async throws -> [ChunkRow] {
        try await store.pool.read { db in
            try GRDB.Row.fetchAll(db, sql: "SELECT id, start_ts, end_ts, count, sealed, data FROM chunk ORDER BY device_id, metric_id, start_ts")
                .map(ChunkTable.row)
        }
    }

    @Test func aValueInsideASealedChunkIsOverwritten() async throws {
        let (store, id, _) = try await store()
        var generator = SplitMix(seed: 1)
        let noisy = (0..<20_000).map { _ in Double(Int.random(in: 0...9999, using: &generator)) / 100 }
        for start in stride(from: 0, to: 20_000, by: 2_500) {
            try await store.commit(CommitBatch(points: points(id, start..<(start + 2_500)) { noisy[$0] }))
        }
        let before = try await chunks(store)
        #expect(before.count > 3 && before.dropLast().allSatisfy(\.sealed) && before.last?.sealed == false)
        try await store.commit(CommitBatch(points: points(id, 10..<11) { _ in -5 } + points(id, 15_000..<15_001) { _ in -6 }))
        let values = try await store.storedValues()
        #expect(values.count == 20_000)
        #expect(values[10].value == -5 && values[15_000].value == -6)
        #expect(values.enumerated().allSatisfy { index, item in [10, 15_000].contains(index) || item.value == noisy[index] })
        #expect(try await store.rollupMismatches() == 0)
        #expect(try await store.deviceStatus(named: "d")?.metrics["t"]?.value == noisy[19_999])
    }

    @Test func lateAndBackfilledValuesLandInOrderWithoutOverlap() async throws {
        let (store, id, _) = try await store()
        try await store.commit(CommitBatch(points: points(id, 5_000..<10_000) { Double($0 % 100) }))
        // Before the first chunk, in the middle, and interleaved with the newest.
        try await store.commit(CommitBatch(points: points(id, 0..<5_000) { Double($0 % 100) }.reversed()))
        try await store.commit(CommitBatch(points: points(id, 10_000..<10_100) { Double($0 % 100) } + points(id, 7_000..<7_001) { _ in 1 }))
        let values = try await store.storedValues()
        #expect(values.map(\.ts) == (0..<10_100).map { base + Int64($0) * 1000 })
        #expect(values[7_000].value == 1)
        let rows = try await chunks(store)
        #expect(zip(rows, rows.dropFirst()).allSatisfy { $0.end < $1.start }, "chunks overlap")
        #expect(rows.reduce(0) { $0 + $1.count } == 10_100)
        #expect(try await store.rollupMismatches() == 0)
    }

    /// Chunks stay within a table page: none spills into overflow pages,
    /// even when a chunk of short decimals turns into XOR floats late.
    @Test func chunksStayWithinAPage() async throws {
        let (store, id, _) = try await store()
        var generator = SplitMix(seed: 2)
        try await store.commit(CommitBatch(points: points(id, 0..<3_000) { Double($0 % 50) / 10 }))
        try await store.commit(CommitBatch(points: points(id, 3_000..<3_010) { _ in Double.random(in: 0...1, using: &generator) }))
        try await store.commit(CommitBatch(points: points(id, 3_010..<9_000) { _ in Double.random(in: 0...1, using: &generator) }))
        let rows = try await chunks(store)
        #expect(rows.allSatisfy { $0.data.count <= ChunkTable.largestBytes }, "\(rows.map(\.data.count))")
        #expect(try await store.storedValues().count == 9_000)
    }

    /// Another writer (the CLI's import, a second store on the file) makes the
    /// cached open chunk stale; the next commit notices and loses nothing.
    @Test func aStaleOpenChunkIsReloaded() async throws {
        let (store, id, database) = try await store()
        try await store.commit(CommitBatch(points: points(id, 0..<10) { Double($0) }))
        let other = try SQLiteStore(path: database.path)
        try await other.commit(CommitBatch(points: points(id, 10..<20) { Double($0) }))
        try await store.commit(CommitBatch(points: points(id, 20..<30) { Double($0) }))
        try await other.commit(CommitBatch(points: points(id, 30..<40) { Double($0) }))
        try await store.commit(CommitBatch(points: points(id, 40..<50) { Double($0) }))
        #expect(try await store.storedValues().map(\.value) == (0..<50).map(Double.init))
        #expect(try await store.rollupMismatches() == 0)
    }

    /// Retention rewrites the open chunk between two commits on the same
    /// connection; the next commit must not append to what it remembered.
    @Test func retentionBetweenCommitsLeavesNoStaleTail() async throws {
        let (store, id, _) = try await store()
        try await store.commit(CommitBatch(points: points(id, 0..<100) { Double($0) }))
        try await store.commit(CommitBatch(points: points(id, 100..<200) { Double($0) }))
        let step = try await store.deleteExpired(rawBefore: base + 150_000, rollupsBefore: 0, maxRows: 1000)
        #expect(step.rawRowsDeleted == 150)
        try await store.commit(CommitBatch(points: points(id, 200..<300) { Double($0) }))
        #expect(try await store.storedValues().map(\.value) == (150..<300).map(Double.init))
        let rows = try await chunks(store)
        #expect(rows.reduce(0) { $0 + $1.count } == 150)
    }

    /// Hours are rolled up as the newest value leaves them: from minutes
    /// gathered while appending, or from the chunks after a restart (when the
    /// hour's first values were appended by another process).
    @Test func hoursRollUpExactlyAcrossCommitsAndRestarts() async throws {
        let database = try TemporaryDatabase()
        var store = try SQLiteStore(path: database.path)
        let id = try await store.ensureDevice(named: "d")
        var generator = SplitMix(seed: 8)
        for start in stride(from: 0, to: 4 * 3600, by: 450) {  // 7.5 minutes a commit
            if start == 5400 { store = try SQLiteStore(path: database.path) }  // a restart mid-hour
            try await store.commit(CommitBatch(points: points(id, start..<(start + 450)) { _ in
                Double(Int.random(in: 0...5000, using: &generator)) / 100
            }))
        }
        #expect(try await store.rollupMismatches() == 0)
        let hours = try await store.pool.read { db in try Int64.fetchAll(db, sql: "SELECT hour FROM rollup ORDER BY hour") }
        #expect(hours == (0..<3).map { base + $0 * 3_600_000 })  // three complete hours; the fourth is filling
        let history = try await store.history(device: "d", metric: "t", from: base, to: base + 4 * 3_600_000, points: 5)
        let raw = try await store.historyFromRawRows(device: "d", metric: "t", from: base, to: base + 4 * 3_600_000, points: 5)
        guard case .buckets(_, let fromRollups) = history, case .buckets(_, let fromValues) = raw else {
            Issue.record("expected buckets")
            return
        }
        #expect(fromRollups.map(\.aggregate.count) == fromValues.map(\.aggregate.count))
        #expect(fromRollups.map(\.aggregate.min) == fromValues.map(\.aggregate.min))
        #expect(fromRollups.map(\.aggregate.max) == fromValues.map(\.aggregate.max))
        #expect(zip(fromRollups, fromValues).allSatisfy { abs($0.aggregate.sum - $1.aggregate.sum) < 1e-6 })
    }

    /// Changed bytes on disk are an error that names the chunk, not a crash
    /// and not wrong values.
    @Test func aDamagedChunkIsReportedNotDecoded() async throws {
        let (store, id, _) = try await store()
        try await store.commit(CommitBatch(points: points(id, 0..<100) { Double($0) / 4 }))
        try await store.pool.write { db in
            try db.execute(sql: "UPDATE chunk SET data = CAST(substr(data, 1, 20) || x'FF' || substr(data, 22) AS BLOB)")
        }
        await #expect(throws: StoreError.self) {
            try await store.history(device: "d", metric: "t", from: base, to: base + 99_000, points: 1000)
        }
        let series = try await store.exportSeries(ExportFilter())
        await #expect(throws: StoreError.self) { try await store.exportPage(series[0], ExportFilter(), after: nil, limit: 10) }
    }
}
