import Foundation
import GRDB
import TelehubCodec
import TelehubCore
import TelehubStore

/// One stored value, as tests and benchmarks look at the store from inside.
struct StoredValue: Hashable, Sendable {
    var deviceID: Int64
    var metric: String
    var ts: Int64
    var value: Double
}

extension SQLiteStore {
    /// Every stored value of every series (old layout rows not yet moved
    /// included), in device, metric name and time order.
    func storedValues() async throws -> [StoredValue] {
        try await pool.read { db in
            let series = try GRDB.Row.fetchAll(
                db, sql: "SELECT l.device_id, l.metric_id, m.name FROM latest l JOIN metric m ON m.id = l.metric_id ORDER BY 1, 3")
            var values: [StoredValue] = []
            for row in series {
                let key = SeriesKey(deviceID: row[0], metricID: row[1])
                try ChunkReader.forEach(key, from: .min, to: .max, db) { ts, value in
                    values.append(StoredValue(deviceID: key.deviceID, metric: row[2], ts: ts, value: value))
                    return true
                }
            }
            return values
        }
    }

    /// Rollup minutes and hours of complete hours (see `RollupTable`) that differ from the aggregates of the
    /// stored values (in count, min or max exactly; in sum within the
    /// rounding that adding in another order can cause),
    /// and the minutes holding values that no rollup counts.
    func rollupMismatches() async throws -> Int {
        let values = try await storedValues()
        return try await pool.read { db in
            var expected: [String: Aggregate] = [:]
            var magnitude: [String: Double] = [:]
            var filling: [String: Int64] = [:]  // "device/metric" → the hour still filling
            for row in try GRDB.Row.fetchAll(db, sql: "SELECT device_id, metric_id, ts FROM latest") {
                filling["\(row[0] as Int64)/\(row[1] as Int64)"] = RollupTable.hourStart(row[2])
            }
            let ids = Dictionary(
                uniqueKeysWithValues: try GRDB.Row.fetchAll(db, sql: "SELECT name, id FROM metric").map { ($0[0] as String, $0[1] as Int64) })
            for item in values {
                let metric = ids[item.metric] ?? 0
                guard item.ts < filling["\(item.deviceID)/\(metric)"] ?? .max else { continue }
                for (tier, width) in [("m", RollupTable.minuteMs), ("h", RollupTable.hourMs)] {
                    let key = "\(tier)/\(item.deviceID)/\(metric)/\(item.ts - item.ts % width)"
                    expected[key, default: Aggregate(sum: 0, min: .infinity, max: -.infinity, count: 0)].merge(Aggregate(value: item.value))
                    magnitude[key, default: 0] += abs(item.value)
                }
            }
            var mismatches = 0
            var seen = 0
            let rows = try GRDB.Row.fetchCursor(db, sql: "SELECT device_id, metric_id, hour, sum, min, max, count, minutes FROM rollup")
            while let row = try rows.next() {
                let prefix = "\(row[0] as Int64)/\(row[1] as Int64)/"
                let hour: Int64 = row[2]
                guard hour < filling["\(row[0] as Int64)/\(row[1] as Int64)"] ?? .max else { continue }
                var stored = [("h/\(prefix)\(hour)", Aggregate(sum: row[3], min: row[4], max: row[5], count: row[6]))]
                if let blob: Data = row[7] {
                    for minute in try MinuteBlock.decode([UInt8](blob)) {
                        let start = hour + Int64(minute.minute) * RollupTable.minuteMs
                        stored.append(("m/\(prefix)\(start)", Aggregate(sum: minute.sum, min: minute.min, max: minute.max, count: minute.count)))
                    }
                }
                for (key, aggregate) in stored {
                    seen += 1
                    guard let want = expected[key], want.count == aggregate.count, want.min == aggregate.min,
                        want.max == aggregate.max, abs(want.sum - aggregate.sum) <= 1e-12 * max(1, magnitude[key] ?? 0)
                    else {
                        mismatches += 1
                        continue
                    }
                }
            }
            return mismatches + (expected.count - seen)
        }
    }
}

extension SQLiteStore {
    /// The file's size once the WAL is checkpointed into it: what the data
    /// costs on disk, rollups and indexes included (for the benchmarks).
    package func bytesAfterCheckpoint() async throws -> Int64 {
        _ = try await pool.writeWithoutTransaction { db in try db.checkpoint(.truncate) }
        return try await pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()") ?? 0
        }
    }
}
