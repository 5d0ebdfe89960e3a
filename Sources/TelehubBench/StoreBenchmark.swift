public import Foundation
import TelehubCore
import TelehubSQLite
import TelehubStore

/// The store's own figures, for `telehub bench`: bytes per value and insert
/// rate of the chunk layout against the row layout it replaced
/// (`RowLayoutFixture`), in the same run; a month's history from the
/// rollups against the same answer from every value; export and retention.
public struct StoreBenchmark: Sendable {
    public struct InsertResult: Sendable {
        public var values: Int
        public var seconds: Double
        /// CPU time of the whole process while the chunk store inserted (user and system).
        public var cpuSeconds: Double
        public var bytesPerValue: Double
        public var rowLayoutSeconds: Double
        public var rowLayoutCPUSeconds: Double
        public var rowLayoutBytesPerValue: Double
        /// Reading every value back through the export path, each layout.
        public var exportSeconds: Double
        public var rowLayoutExportSeconds: Double
    }

    public struct QueryResult: Sendable {
        public var values: Int
        public var buckets: Int
        public var rollupMs: Double
        public var rawMs: Double
        public var exportSeconds: Double
        /// Retention deleting the oldest day in steps of 5,000 values: how many steps and the longest.
        public var retentionSteps: Int
        public var longestRetentionStepMs: Double
    }

    /// What the values of the insert benchmark look like.
    public enum Load: String, Sendable, CaseIterable {
        /// A slow daily wave plus Gaussian noise (σ = 0.2), rounded to two
        /// decimals, as temperature, humidity and pressure sensors report.
        case sensor
        /// Uniformly random doubles with every mantissa bit used: the worst case.
        case random
    }

    let directory: URL

    public init(directory: URL) {
        self.directory = directory
    }

    /// `devices` × `metrics` series at 1 Hz for `seconds`, arriving as
    /// readings do (all metrics of a device per second, devices
    /// interleaved), committed in flushes of `flushValues`, into the chunk
    /// store and into the row layout, each on a fresh file.
    /// - Parameter rowLayout: also measure the row layout (off only to profile the chunk store alone).
    /// - Parameter run: readings of one device in a row (see `flushes`).
    public func insert(devices: Int, metrics: Int, seconds: Int, load: Load, flushValues: Int = 5000, run: Int = 1, rowLayout: Bool = true)
        async throws -> InsertResult
    {
        let store = try SQLiteStore(path: directory.appendingPathComponent("chunks-\(load).sqlite").path)
        var ids: [Int64] = []
        for device in 0..<devices { ids.append(try await store.ensureDevice(named: "bench-\(device)")) }
        let names = (0..<metrics).map { "m\($0)" }
        let flushes = Self.flushes(devices: devices, metrics: metrics, seconds: seconds, load: load, flushValues: flushValues, run: run)
        let clock = ContinuousClock()
        let cpu = ProcessCPU.ownSeconds()
        let elapsed = try await clock.measure {
            for flush in flushes {
                try await store.commit(CommitBatch(points: flush.map {
                    SeriesPoint(deviceID: ids[$0.device], metric: names[$0.metric], ts: $0.ts, value: $0.value)
                }))
            }
        }
        let cpuUsed = ProcessCPU.ownSeconds() - cpu
        let exported = try await milliseconds { _ = try await Self.exportAll(store) } / 1000
        let bytesPerValue = Double(try await fileBytes(store)) / Double(devices * metrics * seconds)
        guard rowLayout else {
            return InsertResult(
                values: devices * metrics * seconds, seconds: elapsed.seconds, cpuSeconds: cpuUsed, bytesPerValue: bytesPerValue,
                rowLayoutSeconds: .nan, rowLayoutCPUSeconds: .nan, rowLayoutBytesPerValue: .nan, exportSeconds: exported,
                rowLayoutExportSeconds: .nan)
        }
        let fixture = try RowLayoutFixture(path: directory.appendingPathComponent("rows-\(load).sqlite").path)
        let rows = flushes.map { flush in
            flush.map { RowLayoutFixture.Row(device: Int64($0.device + 1), metric: Int64($0.metric + 1), ts: $0.ts, value: $0.value) }
        }
        let rowCPU = ProcessCPU.ownSeconds()
        let rowElapsed = try await clock.measure {
            for flush in rows { try await fixture.commit(flush) }
        }
        let rowCPUUsed = ProcessCPU.ownSeconds() - rowCPU
        let rowExported = try await milliseconds { _ = try await fixture.exportAll() } / 1000
        let values = devices * metrics * seconds
        return InsertResult(
            values: values, seconds: elapsed.seconds, cpuSeconds: cpuUsed, bytesPerValue: bytesPerValue,
            rowLayoutSeconds: rowElapsed.seconds, rowLayoutCPUSeconds: rowCPUUsed,
            rowLayoutBytesPerValue: Double(try await fixture.fileBytes()) / Double(values), exportSeconds: exported,
            rowLayoutExportSeconds: rowExported)
    }

    struct GeneratedValue {
        var device: Int
        var metric: Int
        var ts: Int64
        var value: Double
    }

    static let start: Int64 = 1_700_000_000_000

    /// The load, generated before timing starts.
    /// - Parameter run: readings of one device in a row, as a device's batch
    ///   message carries them; 1 interleaves the devices every second.
    static func flushes(devices: Int, metrics: Int, seconds: Int, load: Load, flushValues: Int, run: Int = 1) -> [[GeneratedValue]] {
        var generator = SplitMix(seed: 2026)
        var flushes: [[GeneratedValue]] = []
        var flush: [GeneratedValue] = []
        flush.reserveCapacity(flushValues + devices * metrics * run)
        for block in stride(from: 0, to: seconds, by: run) {
            for device in 0..<devices {
                for second in block..<min(seconds, block + run) {
                    for metric in 0..<metrics {
                        let value: Double
                        switch load {
                        case .sensor: value = sensorValue(device: device, metric: metric, second: second, using: &generator)
                        case .random: value = Double.random(in: -1e6...1e6, using: &generator)
                        }
                        flush.append(GeneratedValue(device: device, metric: metric, ts: start + Int64(second) * 1000, value: value))
                    }
                }
                // Runs stay whole, as messages do; single readings close a flush at whole seconds.
                if run > 1, flush.count >= flushValues {
                    flushes.append(flush)
                    flush.removeAll(keepingCapacity: true)
                }
            }
            if flush.count >= flushValues {
                flushes.append(flush)
                flush.removeAll(keepingCapacity: true)
            }
        }
        if !flush.isEmpty { flushes.append(flush) }
        return flushes
    }

    static func sensorValue(device: Int, metric: Int, second: Int, using generator: inout SplitMix) -> Double {
        let base = [21.0, 45.0, 1013.0][metric % 3] + Double(device) * 0.37
        let amplitude = [3.0, 10.0, 4.0][metric % 3]
        let wave = amplitude * sin(2 * .pi * Double(second) / 86_400 + Double(device))
        // Box–Muller: one Gaussian sample from two uniform ones.
        let u = Double.random(in: Double.leastNonzeroMagnitude..<1, using: &generator)
        let v = Double.random(in: 0..<1, using: &generator)
        let noise = 0.2 * (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
        return ((base + wave + noise) * 100).rounded() / 100
    }

    /// One series at 1 Hz for `days`, then `buckets` buckets over the whole
    /// range, `repeats` times each way; an export of it; retention of its oldest day.
    public func history(days: Int, buckets: Int, repeats: Int = 15) async throws -> QueryResult {
        let store = try SQLiteStore(path: directory.appendingPathComponent("history.sqlite").path)
        let id = try await store.ensureDevice(named: "bench")
        let end: Int64 = Self.start
        let seconds = days * 86_400
        let start = end - Int64(seconds) * 1000
        var generator = SplitMix(seed: 7)
        var batch: [SeriesPoint] = []
        batch.reserveCapacity(10_000)
        for second in 0..<seconds {
            let value = Self.sensorValue(device: 0, metric: 0, second: second, using: &generator)
            batch.append(SeriesPoint(deviceID: id, metric: "temperature", ts: start + Int64(second) * 1000, value: value))
            if batch.count == 10_000 {
                try await store.commit(CommitBatch(points: batch))
                batch.removeAll(keepingCapacity: true)
            }
        }
        try await store.commit(CommitBatch(points: batch))
        var rollup: [Double] = []
        var raw: [Double] = []
        var answered = 0
        for _ in 0..<repeats {
            rollup.append(try await milliseconds {
                let history = try await store.history(device: "bench", metric: "temperature", from: start, to: end - 1, points: buckets)
                if case .buckets(_, let items) = history { answered = items.count }
            })
            raw.append(try await milliseconds {
                _ = try await store.historyFromRawRows(device: "bench", metric: "temperature", from: start, to: end - 1, points: buckets)
            })
        }
        let exported = try await milliseconds { _ = try await Self.exportAll(store) }
        var steps: [Double] = []
        var more = true
        while more {
            steps.append(try await milliseconds {
                more = try await store.deleteExpired(rawBefore: start + 86_400_000, rollupsBefore: start, maxRows: 5000).more
            })
        }
        return QueryResult(
            values: seconds, buckets: answered, rollupMs: median(rollup), rawMs: median(raw), exportSeconds: exported / 1000,
            retentionSteps: steps.count, longestRetentionStepMs: steps.max() ?? 0)
    }

    /// Every value through the export path, series by series in pages of 10,000. - Returns: how many.
    static func exportAll(_ store: SQLiteStore) async throws -> Int {
        let filter = ExportFilter()
        var total = 0
        for series in try await store.exportSeries(filter) {
            var after: Int64?
            while true {
                let page = try await store.exportPage(series, filter, after: after, limit: 10_000)
                guard let last = page.last else { break }
                total += page.count
                after = last.ts
            }
        }
        return total
    }

    private func fileBytes(_ store: SQLiteStore) async throws -> Int64 {
        try await store.bytesAfterCheckpoint()
    }

    private func milliseconds(_ work: () async throws -> Void) async throws -> Double {
        try await ContinuousClock().measure(work).seconds * 1000
    }

    private func median(_ values: [Double]) -> Double {
        values.sorted()[values.count / 2]
    }
}

extension Duration {
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
