import Foundation
import GRDB
import Synchronization
import Testing
import TelehubCore
@testable import TelehubSQLite
import TelehubStore

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
        var actual: [String: Double] = [:]
        for item in try await store.storedValues() { actual["\(item.deviceID)/\(item.metric)/\(item.ts)"] = item.value }
        #expect(actual == expected)
        // Every minute and hour of the rollups matches the stored values.
        #expect(try await store.rollupMismatches() == 0)
    }
}

/// Opens once, for one thread to tell another that it may go on.
final class Latch: Sendable {
    private let state = Mutex(false)
    var isOpen: Bool { state.withLock { $0 } }
    func open() { state.withLock { $0 = true } }
}
