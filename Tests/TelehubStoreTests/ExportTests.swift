import Foundation
import GRDB
import Testing
import TelehubCore
@testable import TelehubStore

@Suite struct ExportTests {
    @Test func streamsFilteredLinesInOrderPageByPage() async throws {
        let store = try SQLiteStore(path: try TemporaryDatabase().path)
        let b = try await store.ensureDevice(named: "b-dev")
        let a = try await store.ensureDevice(named: "a-dev")
        var points: [SeriesPoint] = []
        for i in 0..<25 {
            let ts: Int64 = 1_732_200_000_000 + Int64(i)
            points.append(SeriesPoint(deviceID: a, metric: "t", ts: ts, value: Double(i) / 2))
            points.append(SeriesPoint(deviceID: b, metric: "t", ts: ts, value: 1))
            points.append(SeriesPoint(deviceID: a, metric: "h", ts: ts, value: 2))
        }
        try await store.commit(CommitBatch(points: points))
        var chunks: [String] = []
        try await store.export(ExportFilter(devices: ["a-dev"], from: 1_732_200_000_005, to: 1_732_200_000_019), as: .csv, pageSize: 4) {
            chunks.append($0)
        }
        let lines = chunks.joined().split(separator: "\n").map(String.init)
        #expect(lines.first == "device,metric,ts,time,value")
        #expect(lines.count == 1 + 2 * 15)
        #expect(lines[1] == "a-dev,h,1732200000005,2024-11-21T14:40:00.005Z,2")
        #expect(lines[16] == "a-dev,t,1732200000005,2024-11-21T14:40:00.005Z,2.5")
        #expect(lines.last == "a-dev,t,1732200000019,2024-11-21T14:40:00.019Z,9.5")
        #expect(chunks.count > 4)  // paged, never one big string
        var ndjson = ""
        try await store.export(ExportFilter(metrics: ["t"], from: 1_732_200_000_000, to: 1_732_200_000_000), as: .ndjson) { ndjson += $0 }
        #expect(ndjson == """
            {"device":"a-dev","metric":"t","ts":1732200000000,"value":0}
            {"device":"b-dev","metric":"t","ts":1732200000000,"value":1}

            """)
    }

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
