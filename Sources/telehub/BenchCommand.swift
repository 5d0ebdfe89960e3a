import ArgumentParser
import Foundation
import TelehubCore
import TelehubStore

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the store: bytes per value and insert rate against the row layout, history, export, retention.",
        discussion: "Works in a temporary folder; build with -c release for meaningful figures.")

    @Option(help: "Days of 1 Hz data for the history query.") var days = 30
    @Option(help: "Buckets the history query asks for.") var buckets = 500
    @Option(help: "Devices in the insert benchmark (3 metrics each, 1 Hz).") var devices = 20
    @Option(help: "Seconds of data in the insert benchmark.") var seconds = 21_600
    @Flag(help: .hidden) var chunksOnly = false

    func validate() throws {
        try Bounds.check("--days", days, 1...3650)
        try Bounds.check("--buckets", buckets, 1...10_000)
        try Bounds.check("--devices", devices, 1...10_000)
        try Bounds.check("--seconds", seconds, 1...2_592_000)
    }

    func run() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("telehub-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let bench = StoreBenchmark(directory: directory)

        print("store insert: \(devices) devices x 3 metrics x \(seconds) s at 1 Hz (\(devices * 3 * seconds) values), flushes of 5000")
        print("  load    layout            values/s  per CPU second  bytes/value   (file and WAL after a checkpoint, rollups, indexes)")
        for load in StoreBenchmark.Load.allCases {
            let insert = try await bench.insert(devices: devices, metrics: 3, seconds: seconds, load: load, rowLayout: !chunksOnly)
            let rate = Double(insert.values) / insert.seconds
            let rowRate = Double(insert.values) / insert.rowLayoutSeconds
            let perCPU = Double(insert.values) / insert.cpuSeconds
            let rowPerCPU = Double(insert.values) / insert.rowLayoutCPUSeconds
            let name = load.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0)
            print("  \(name) " + String(format: "rows (baseline) %10.0f  %14.0f  %11.2f", rowRate, rowPerCPU, insert.rowLayoutBytesPerValue))
            print("  \(name) " + String(format: "chunks          %10.0f  %14.0f  %11.2f   (%.2fx the speed, %.2fx per CPU second, %.1fx smaller)",
                                        rate, perCPU, insert.bytesPerValue, rate / rowRate, perCPU / rowPerCPU,
                                        insert.rowLayoutBytesPerValue / insert.bytesPerValue))
            if !chunksOnly {
                let values = Double(insert.values)
                print("  \(name) " + String(format: "export, every value read back in pages of 10000: rows %.0f values/s, chunks %.0f values/s (%.1fx)",
                                            values / insert.rowLayoutExportSeconds, values / insert.exportSeconds,
                                            insert.rowLayoutExportSeconds / insert.exportSeconds))
            }
        }

        if chunksOnly { return }
        let query = try await bench.history(days: days, buckets: buckets)
        print("history: \(query.values) values (\(days) days at 1 Hz), \(buckets) buckets asked, \(query.buckets) returned")
        print(String(format: "  every value decoded (baseline): %8.2f ms", query.rawMs))
        print(String(format: "  rollups:                        %8.2f ms  (%.0fx faster)", query.rollupMs, query.rawMs / query.rollupMs))
        print(String(format: "export: %d values in %.3f s, %.0f values/s", query.values, query.exportSeconds,
                     Double(query.values) / query.exportSeconds))
        print(String(format: "retention: the oldest day (86400 values) deleted in %d steps of at most 5000 rows, longest %.2f ms",
                     query.retentionSteps, query.longestRetentionStepMs))
        try streamEvents(count: 100_000)
    }

    /// The stream writes one `reading` event per committed reading: its JSON
    /// is written by hand (`ReadingEvent.json`) only because this shows it pays.
    private func streamEvents(count: Int) throws {
        let metrics = [MetricValue(name: "humidity", value: 41.25), MetricValue(name: "temperature", value: 21.37)]
        let encoder = JSONEncoder.wire
        var bytes = 0
        let encoded = try ContinuousClock().measure {
            for index in 0..<count {
                let event = ReadingEvent(
                    device: "greenhouse-1", ts: 1_732_200_000_000 + Int64(index),
                    metrics: Dictionary(uniqueKeysWithValues: metrics.map { ($0.name, $0.value) }))
                bytes &+= try encoder.encode(event).count
            }
        }
        let written = ContinuousClock().measure {
            for index in 0..<count {
                bytes &+= ReadingEvent.json(device: "greenhouse-1", ts: 1_732_200_000_000 + Int64(index), metrics: metrics).utf8.count
            }
        }
        print("stream events: \(count) reading events of 2 metrics (\(bytes / (2 * count)) bytes each)")
        print(String(format: "  JSONEncoder (baseline): %8.0f events/s", Double(count) / (encoded / .seconds(1))))
        print(String(format: "  ReadingEvent.json:      %8.0f events/s  (%.1fx faster)",
                     Double(count) / (written / .seconds(1)), encoded / written))
    }
}
