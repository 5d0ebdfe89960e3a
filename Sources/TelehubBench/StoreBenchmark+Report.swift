import Foundation

extension StoreBenchmark {
    /// What the store section measures.
    public struct Options: Sendable {
        public var devices = 20
        public var seconds = 21_600
        public var days = 30
        public var buckets = 500
        /// Only the chunk store's inserts (to profile it alone).
        public var chunksOnly = false

        public init() {}
    }

    /// Runs the store section and prints its figures, each next to its
    /// baseline from the same run.
    public func report(_ options: Options, say: (String) -> Void) async throws {
        let devices = options.devices
        let seconds = options.seconds
        say("store insert: \(devices) devices x 3 metrics x \(seconds) s at 1 Hz (\(devices * 3 * seconds) values), flushes of 5000")
        say("  load    layout            values/s  per CPU second  bytes/value   (file and WAL after a checkpoint, rollups, indexes)")
        for load in Load.allCases {
            let insert = try await insert(devices: devices, metrics: 3, seconds: seconds, load: load, rowLayout: !options.chunksOnly)
            say(insertLines(insert, load: load, withBaseline: !options.chunksOnly).joined(separator: "\n"))
        }
        if options.chunksOnly { return }
        let query = try await history(days: options.days, buckets: options.buckets)
        say("history: \(query.values) values (\(options.days) days at 1 Hz), \(options.buckets) buckets asked, \(query.buckets) returned")
        say(String(format: "  every value decoded (baseline): %8.2f ms", query.rawMs))
        say(String(format: "  rollups:                        %8.2f ms  (%.0fx faster)", query.rollupMs, query.rawMs / query.rollupMs))
        say(String(format: "export: %d values in %.3f s, %.0f values/s", query.values, query.exportSeconds,
                   Double(query.values) / query.exportSeconds))
        say(String(format: "retention: the oldest day (86400 values) deleted in %d steps of at most 5000 rows, longest %.2f ms",
                   query.retentionSteps, query.longestRetentionStepMs))
    }

    private func insertLines(_ insert: InsertResult, load: Load, withBaseline: Bool) -> [String] {
        let values = Double(insert.values)
        let rate = values / insert.seconds
        let perCPU = values / insert.cpuSeconds
        let name = load.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0)
        guard withBaseline else {
            return ["  \(name) " + String(format: "chunks          %10.0f  %14.0f  %11.2f", rate, perCPU, insert.bytesPerValue)]
        }
        let rowRate = values / insert.rowLayoutSeconds
        let rowPerCPU = values / insert.rowLayoutCPUSeconds
        return [
            "  \(name) " + String(format: "rows (baseline) %10.0f  %14.0f  %11.2f", rowRate, rowPerCPU, insert.rowLayoutBytesPerValue),
            "  \(name) " + String(format: "chunks          %10.0f  %14.0f  %11.2f   (%.2fx the speed, %.2fx per CPU second, %.1fx smaller)",
                                  rate, perCPU, insert.bytesPerValue, rate / rowRate, perCPU / rowPerCPU,
                                  insert.rowLayoutBytesPerValue / insert.bytesPerValue),
            "  \(name) " + String(format: "export, every value read back in pages of 10000: rows %.0f values/s, chunks %.0f values/s (%.1fx)",
                                  values / insert.rowLayoutExportSeconds, values / insert.exportSeconds,
                                  insert.rowLayoutExportSeconds / insert.exportSeconds),
        ]
    }
}
