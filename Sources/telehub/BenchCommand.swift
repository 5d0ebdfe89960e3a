import ArgumentParser
import Foundation
import TelehubBench
import TelehubCore
import TelehubPostgres
import TelehubSQLite
import TelehubStore

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the store (bytes per value, insert rate, history, export, retention) and, with --ingest, the hub end to end.",
        discussion: """
            Works in a temporary folder; build with -c release for meaningful figures. --ingest starts this \
            binary as a hub on a temporary database and drives it over loopback: values per second and per \
            second of the hub's own CPU (from /proc), device-to-stream latency, stream fan-out, memory per idle \
            connection, start to healthy. --scale-out --postgres URL runs the same load on one hub on SQLite \
            and on 1, 2 and 3 hubs sharing the PostgreSQL database (Benchmarks/scale_out.sh starts a server), \
            with the latency from a device on one hub to a stream client on another, and compares ways to \
            write a batch to PostgreSQL (unnest arrays, COPY).
            """)

    @Option(help: "Days of 1 Hz data for the history query.") var days = 30
    @Option(help: "Buckets the history query asks for.") var buckets = 500
    @Option(help: "Devices in the insert benchmark (3 metrics each, 1 Hz).") var devices = 20
    @Option(help: "Seconds of data in the insert benchmark.") var seconds = 21_600
    @Flag(help: .hidden) var chunksOnly = false
    @Flag(help: "Measure the hub end to end instead of the store.") var ingest = false
    @Flag(help: "Measure the store and the hub end to end.") var all = false
    @Flag(help: "Tiny loads: every section runs and reports, in seconds (a smoke test, not a measurement).") var quick = false
    @Flag(help: "With --ingest: print the hub's figures as one JSON object on stdout (progress goes to stderr).") var json = false
    @Option(help: "With --ingest: values each throughput case sends.") var valuesPerCase = 2_000_000
    @Option(help: "With --ingest: idle device connections to open.") var connections = 10_000
    @Option(help: "With --ingest: stream subscribers in the fan-out case.") var subscribers = 1000
    @Option(help: "With --ingest: seconds each paced load sends.") var pacedSeconds = 5.0
    @Option(help: "With --ingest: event loop threads of the load generator.") var loadThreads = 1
    @Option(help: "With --ingest: start this telehub executable as the hub instead of this one (before-and-after figures).")
    var hubBinary: String?
    @Option(help: "With --ingest: also write each throughput case to this InfluxDB 1.x (host:port; Benchmarks/influx_peer.sh starts one).")
    var influx: String?
    @Option(help: "With --influx: the InfluxDB server's pid, for its CPU seconds.") var influxPid: Int32?
    @Option(help: "With --ingest: the sections to run, comma-separated: throughput, latency, fanout, alerts, idle.")
    var sections = "throughput,latency,fanout,alerts,idle"
    @Flag(help: "Several hubs on one PostgreSQL database (--postgres) against one hub on SQLite.") var scaleOut = false
    @Option(help: "With --scale-out: the PostgreSQL database, postgresql://USER@HOST:PORT/DBNAME (a schema is made per configuration).")
    var postgres: String?
    @Option(help: "With --postgres: the PostgreSQL server's pid (postmaster), for its CPU seconds.") var postgresPid: Int32?
    @Option(help: "With --scale-out: the numbers of hubs to run on PostgreSQL, comma-separated.") var instances = "1,2,3"

    func validate() throws {
        try Bounds.check("--days", days, 1...3650)
        try Bounds.check("--buckets", buckets, 1...10_000)
        try Bounds.check("--devices", devices, 1...10_000)
        try Bounds.check("--seconds", seconds, 1...2_592_000)
        try Bounds.check("--values-per-case", valuesPerCase, 1000...1_000_000_000)
        try Bounds.check("--connections", connections, 1...1_000_000)
        try Bounds.check("--subscribers", subscribers, 1...100_000)
        try Bounds.check("--paced-seconds", pacedSeconds, 0.1...3600)
        try Bounds.check("--load-threads", loadThreads, 1...64)
        if let unknown = sectionNames.first(where: { IngestBenchmark.Section(rawValue: $0) == nil }) {
            throw ValidationError("--sections: unknown section \"\(unknown.prefix(40))\"; choose from throughput, latency, fanout, alerts, idle")
        }
        if let influx {
            guard let colon = influx.lastIndex(of: ":"), let port = Int(influx[influx.index(after: colon)...]), (1...65535).contains(port),
                influxPid != nil
            else { throw ValidationError("--influx takes host:port, with --influx-pid") }
        }
        if scaleOut {
            guard let postgres, PostgresURL.isPostgres(postgres) else { throw ValidationError("--scale-out needs --postgres postgresql://…") }
            do { _ = try PostgresURL(postgres) } catch { throw ValidationError("\(error)") }
            guard !instanceCounts.isEmpty, instanceCounts.count == instances.split(separator: ",").count else {
                throw ValidationError("--instances takes hub counts from 1 to 16, comma-separated, such as 1,2,3")
            }
        }
        if let hubBinary, !FileManager.default.isExecutableFile(atPath: hubBinary) {
            throw ValidationError("--hub-binary: \(hubBinary) is not an executable file")
        }
    }

    private var instanceCounts: [Int] {
        instances.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }.filter { (1...16).contains($0) }
    }

    private var sectionNames: [String] {
        sections.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    }

    private var ingestOptions: IngestBenchmark.Options {
        var options = quick ? IngestBenchmark.Options.smoke : IngestBenchmark.Options()
        if !quick {
            options.valuesPerCase = valuesPerCase
            options.idleConnections = connections
            options.subscribers = subscribers
            options.pacedSeconds = pacedSeconds
        }
        options.loadThreads = loadThreads
        options.hubBinary = hubBinary
        if let influx, let influxPid, let colon = influx.lastIndex(of: ":"), let port = Int(influx[influx.index(after: colon)...]) {
            options.peer = IngestBenchmark.Peer(host: String(influx[..<colon]), port: port, pid: influxPid)
        }
        options.sections = Set(sectionNames.compactMap(IngestBenchmark.Section.init(rawValue:)))
        return options
    }

    func run() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("telehub-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        if scaleOut {
            try await runScaleOut(directory: directory)
            return
        }
        if ingest || all {
            try await runIngest(directory: directory.appendingPathComponent("ingest"))
            if !all { return }
        }
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

    private func runIngest(directory: URL) async throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let report = try await IngestBenchmark(options: ingestOptions, directory: directory).run(progress: progressLine)
        try printReport(report)
    }

    /// Progress lines: on stdout, or on stderr when stdout carries the JSON report.
    private var progressLine: @Sendable (String) -> Void {
        let json = self.json
        return { line in
            if json { FileHandle.standardError.write(Data((line + "\n").utf8)) } else { print(line) }
        }
    }

    /// With `--json`, the whole report as one object on stdout.
    private func printReport(_ report: some Encodable) throws {
        guard json else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        print(String(decoding: try encoder.encode(report), as: UTF8.self))
    }

    private func runScaleOut(directory: URL) async throws {
        guard let postgres else { return }
        let say = progressLine
        var options = quick ? ScaleOutBenchmark.Options.smoke(postgres: postgres) : ScaleOutBenchmark.Options(postgres: postgres)
        if !quick {
            options.valuesPerCase = valuesPerCase
            options.pacedSeconds = pacedSeconds
            options.instances = instanceCounts
        }
        options.postgresPID = postgresPid
        options.loadThreads = loadThreads
        options.hubBinary = hubBinary
        let url = try PostgresURL(postgres)
        let inserts = try await PostgresInsertBenchmark(
            url: url, serverPID: postgresPid, batches: quick ? 4 : 200, rowsPerBatch: 5000
        ).run()
        for row in inserts {
            say(String(
                format: "PostgreSQL insert, %d rows in batches of 5000: %9.0f rows/s, client %.2f CPU s, server %@ (%@)",
                row.rows, Double(row.rows) / row.seconds, row.clientCPUSeconds,
                row.serverCPUSeconds.map { String(format: "%.2f CPU s", $0) } ?? "?", row.method.rawValue))
        }
        let report = try await ScaleOutBenchmark(options: options, directory: directory) { database in
            try await StoreOptions.open(database)
        }.run(progress: say)
        try printReport(report)
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
