import Foundation
import GRDB
import Synchronization
import Testing
import TelehubCore
@testable import TelehubStore

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
