import ArgumentParser
import Foundation
import TelehubBench
import TelehubPostgres

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
    @Option(help: "With --ingest: device connections the idle section's memory curve reaches (1,000, 5,000, 10,000, then this).")
    var connections = 19_000
    @Option(help: "With --ingest: of those, devices that then send one reading (4 values) a second.") var pacedConnections = 2_500
    @Option(help: "With --ingest: metrics in each of those readings (1-4).") var pacedMetrics = 4
    @Option(help: "With --ingest: stream subscribers in the fan-out case.") var subscribers = 1000
    @Option(help: "With --ingest: seconds each paced load sends.") var pacedSeconds = 5.0
    @Option(help: "With --ingest: event loop threads of the load generator.") var loadThreads = 1
    @Option(help: "With --ingest: start this telehub executable as the hub instead of this one (before-and-after figures).")
    var hubBinary: String?
    @Option(help: "With --ingest: also write each throughput case to this InfluxDB 1.x (host:port; Benchmarks/influx_peer.sh starts one).")
    var influx: String?
    @Option(help: "With --influx: the InfluxDB server's pid, for its CPU seconds.") var influxPid: Int32?
    @Option(help: "With --ingest: the sections to run, comma-separated: throughput, latency, fanout, alerts, commands, lineprotocol, promql, idle.")
    var sections = "throughput,latency,fanout,alerts,commands,lineprotocol,promql,idle"
    @Option(help: "With --ingest: only these throughput cases, comma-separated, as DEVICESxREADINGS with d for deflate (100x1,100x100d).")
    var cases: String?
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
        try Bounds.check("--paced-connections", pacedConnections, 1...1_000_000)
        try Bounds.check("--paced-metrics", pacedMetrics, 1...4)
        try Bounds.check("--subscribers", subscribers, 1...100_000)
        try Bounds.check("--paced-seconds", pacedSeconds, 0.1...3600)
        try Bounds.check("--load-threads", loadThreads, 1...64)
        if let unknown = sectionNames.first(where: { IngestBenchmark.Section(rawValue: $0) == nil }) {
            throw ValidationError("--sections: unknown section \"\(unknown.prefix(40))\"; choose from throughput, latency, fanout, alerts, commands, lineprotocol, promql, idle")
        }
        if let cases {
            let known = IngestBenchmark.throughputCaseNames
            if let unknown = caseNames(cases).first(where: { !known.contains($0) }) {
                throw ValidationError("--cases: unknown case \"\(unknown.prefix(40))\"; choose from \(known.joined(separator: ", "))")
            }
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

    private func caseNames(_ list: String) -> [String] {
        list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    }

    private var sectionNames: [String] {
        sections.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    }

    private var ingestOptions: IngestBenchmark.Options {
        var options = quick ? IngestBenchmark.Options.smoke : IngestBenchmark.Options()
        if !quick {
            options.valuesPerCase = valuesPerCase
            options.idleConnections = connections
            options.pacedConnections = pacedConnections
            options.pacedMetrics = pacedMetrics
            options.subscribers = subscribers
            options.pacedSeconds = pacedSeconds
        }
        options.loadThreads = loadThreads
        options.hubBinary = hubBinary
        if let influx, let influxPid, let colon = influx.lastIndex(of: ":"), let port = Int(influx[influx.index(after: colon)...]) {
            options.peer = IngestBenchmark.Peer(host: String(influx[..<colon]), port: port, pid: influxPid)
        }
        options.sections = Set(sectionNames.compactMap(IngestBenchmark.Section.init(rawValue:)))
        if let cases { options.throughputCases = Set(caseNames(cases)) }
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
        var options = StoreBenchmark.Options()
        options.devices = devices
        options.seconds = seconds
        options.days = days
        options.buckets = buckets
        options.chunksOnly = chunksOnly
        try await StoreBenchmark(directory: directory).report(options) { print($0) }
        if !chunksOnly { try StreamEventBenchmark.report { print($0) } }
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
        for row in inserts { say(row.line) }
        let report = try await ScaleOutBenchmark(options: options, directory: directory) { database in
            try await StoreOptions.open(database)
        }.run(progress: say)
        try printReport(report)
    }
}
