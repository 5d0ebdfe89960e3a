import Foundation
import GRDB
import Testing
import TelehubCore
@testable import TelehubSQLite
import TelehubStore

@Suite struct ExportTests {
    @Test func backupIsACompleteCopy() async throws {
        let database = try TemporaryDatabase()
        let store = try SQLiteStore(path: database.path)
        let id = try await store.ensureDevice(named: "d")
        try await store.commit(CommitBatch(points: (0..<500).map { SeriesPoint(deviceID: id, metric: "v", ts: Int64($0), value: 1) },
                                           progress: [DeviceProgress(deviceID: id, lastSeq: 9, lastSeen: 1)]))
        let copy = database.directory.appendingPathComponent("backup.sqlite").path
        try await store.backup(to: copy)
        let restored = try SQLiteStore(path: copy)
        #expect(try await restored.lastSeq(deviceID: id) == 9)
        #expect(try await restored.history(device: "d", metric: "v", from: 0, to: 499, points: 1000).map {
            if case .raw(let points) = $0 { points.count } else { -1 }
        } == 500)
    }
}
