public import Foundation
import NIOCore
import NIOPosix
public import TelehubStore

/// `telehub bench --scale-out`: the same saturating load on one hub on
/// SQLite, then on one, two and three hubs sharing one PostgreSQL database
/// (the devices spread over them, as a balancer would), and the latency from
/// a device's send to a stream client connected to another hub than the
/// device. CPU is counted per process from `/proc`: the hubs' and
/// PostgreSQL's (its server and every connection process), never the load
/// generator's. On a machine of few cores every hub and the server share them,
/// so values per CPU second say more than values per second there.
public struct ScaleOutBenchmark: Sendable {
    public struct Options: Sendable {
        /// `postgresql://…`; each configuration gets a fresh schema of this database.
        public var postgres: String
        /// PostgreSQL's server (postmaster) pid, for its CPU seconds.
        public var postgresPID: Int32?
        /// How many hubs share the database, one configuration each.
        public var instances = [1, 2, 3]
        public var valuesPerCase = 2_000_000
        public var pacedSeconds = 5.0
        public var loadThreads = 1
        public var maxDevices = 1000
        /// Another `telehub` executable to start as the hubs.
        public var hubBinary: String?

        public init(postgres: String) {
            self.postgres = postgres
        }

        /// Every configuration runs and reports, on a tiny load.
        public static func smoke(postgres: String) -> Options {
            var options = Options(postgres: postgres)
            options.instances = [1, 2]
            options.valuesPerCase = 8000
            options.pacedSeconds = 0.4
            options.maxDevices = 20
            return options
        }
    }

    public struct Throughput: Codable, Sendable {
        public var store: String
        public var hubs: Int
        public var devices: Int
        public var readingsPerMessage: Int
        public var values: Int
        public var valuesPerSecond: Double
        public var hubCPUSeconds: Double
        /// PostgreSQL's own CPU seconds over the load (nil on SQLite, which runs inside the hub).
        public var serverCPUSeconds: Double?
        /// Values over the CPU seconds of the hubs and the server together.
        public var valuesPerCPUSecond: Double
        /// `valuesPerSecond` over one hub on SQLite's, same case, same run.
        public var ratioToSQLite: Double
    }

    public struct Latency: Codable, Sendable {
        public var store: String
        public var hubs: Int
        /// Whether the stream client was connected to another hub than the devices.
        public var crossInstance: Bool
        public var offeredValuesPerSecond: Int
        public var deliveries: Int
        public var p50Ms: Double
        public var p99Ms: Double
        public var p999Ms: Double
        public var maxMs: Double
    }

    public struct Report: Codable, Sendable {
        public var throughput: [Throughput] = []
        public var latency: [Latency] = []
    }

    /// Opens a store by its `--db` value (a file path or a `postgresql://` URL),
    /// to mint the devices' tokens before the hubs start.
    public typealias OpenStore = @Sendable (String) async throws -> any TelemetryStore

    let options: Options
    let directory: URL
    let openStore: OpenStore

    public init(options: Options, directory: URL, openStore: @escaping OpenStore) {
        self.options = options
        self.directory = directory
        self.openStore = openStore
    }

    /// Devices and readings per message: batching devices, and many devices sending every reading at once.
    static let cases = [(100, 100), (1000, 1)]

    public func run(progress: @escaping @Sendable (String) -> Void) async throws -> Report {
        try await LoadGenerator.withGroup(threads: options.loadThreads) { group in try await run(group: group, progress: progress) }
    }

    private func run(group: MultiThreadedEventLoopGroup, progress: @escaping @Sendable (String) -> Void) async throws -> Report {
        var report = Report()
        var setups = [("sqlite", 1, directory.appendingPathComponent("hub.sqlite").path)]
        for hubs in options.instances {
            setups.append(("postgresql", hubs, Self.freshSchema(options.postgres, hubs: hubs)))
        }
        for (store, hubs, database) in setups {
            try await run(store: store, hubs: hubs, database: database, group: group, into: &report, progress)
        }
        return report
    }

    /// The URL with a schema of its own, so every configuration starts on an empty database.
    static func freshSchema(_ url: String, hubs: Int) -> String {
        let name = "telehub_scale_\(hubs)_\(UInt32.random(in: 0...UInt32.max))"
        return url + (url.contains("?") ? "&" : "?") + "schema=\(name)"
    }

    private func run(
        store: String, hubs count: Int, database: String, group: any EventLoopGroup, into report: inout Report,
        _ progress: @Sendable (String) -> Void
    ) async throws {
        var fleet = try await Fleet.mint(store: try await openStore(database), devices: 1000)
        var hubs: [HubProcess] = []
        defer { hubs.forEach { $0.stop() } }
        for _ in 0..<count {
            hubs.append(try await HubProcess.start(
                database: database, settings: IngestBenchmark.hubSettings, binary: options.hubBinary, group: group))
        }
        try await Task.sleep(for: .seconds(1))
        let loads = hubs.map { LoadGenerator(group: group, hub: $0, readToken: fleet.readToken) }
        for (devices, readings) in Self.cases {
            var row = try await throughput(
                loads, &fleet, devices: min(devices, options.maxDevices), readings: readings, server: store == "postgresql")
            row.store = store
            let baseline = report.throughput.first { $0.store == "sqlite" && $0.devices == row.devices && $0.readingsPerMessage == readings }
            row.ratioToSQLite = row.valuesPerSecond / (baseline?.valuesPerSecond ?? row.valuesPerSecond)
            report.throughput.append(row)
            progress(String(
                format: "%@, %d hub%@: %4d devices x %3d readings x 4 metrics: %9.0f values/s (%.2fx SQLite), hubs %.1f CPU s, server %@, %8.0f values per CPU s",
                store, count, count == 1 ? "" : "s", row.devices, readings, row.valuesPerSecond, row.ratioToSQLite, row.hubCPUSeconds,
                row.serverCPUSeconds.map { String(format: "%.1f CPU s", $0) } ?? "in the hub", row.valuesPerCPUSecond))
        }
        let latency = try await crossLatency(loads, hubs, &fleet, store: store)
        report.latency.append(latency)
        progress(String(
            format: "%@, %d hub%@: device -> stream %@ at %d values/s: p50 %.2f ms, p99 %.2f, p999 %.2f, max %.2f (%d deliveries)",
            store, count, count == 1 ? "" : "s", latency.crossInstance ? "on another hub" : "on the same hub",
            latency.offeredValuesPerSecond, latency.p50Ms, latency.p99Ms, latency.p999Ms, latency.maxMs, latency.deliveries))
    }

    /// Each device connects to hub `device % hubs`; all send at once, each keeping its window full.
    /// - Parameter server: whether to count PostgreSQL's CPU (SQLite's runs inside the hub).
    private func throughput(
        _ loads: [LoadGenerator], _ fleet: inout Fleet, devices: Int, readings: Int, server: Bool
    ) async throws -> Throughput {
        let valuesPerMessage = readings * MessageCorpus.metricsPerReading
        let messages = max(2, options.valuesPerCase / (devices * valuesPerMessage))
        let window = min(8, max(1, IngestBenchmark.maxValuesInFlight / (devices * valuesPerMessage)))
        let plans = try fleet.plans(devices: 0..<devices, messages: messages, readings: readings, deflate: false, window: window)
        var connections: [LoadGenerator.Connection] = []
        for (index, load) in loads.enumerated() {
            let share = plans.indices.filter { $0 % loads.count == index }.map { plans[$0] }
            connections += try await load.connect(share, deflate: false)
        }
        let hubCPU = hubSeconds(loads)
        let serverCPU = server ? serverSeconds() : nil
        let started = ContinuousClock.now
        try await loads[0].saturate(connections)
        let elapsed = (ContinuousClock.now - started) / .seconds(1)
        let hubUsed = hubSeconds(loads) - hubCPU
        let serverUsed = serverCPU.flatMap { before in serverSeconds().map { $0 - before } }
        await loads[0].close(connections)
        let values = devices * messages * valuesPerMessage
        return Throughput(
            store: "", hubs: loads.count, devices: devices, readingsPerMessage: readings, values: values,
            valuesPerSecond: Double(values) / elapsed, hubCPUSeconds: hubUsed, serverCPUSeconds: serverUsed,
            valuesPerCPUSecond: Double(values) / max(0.01, hubUsed + (serverUsed ?? 0)), ratioToSQLite: 1)
    }

    /// 100 devices, one reading every 40 ms each (10,000 values/s) on the
    /// first hub, one stream client on the last.
    private func crossLatency(_ loads: [LoadGenerator], _ hubs: [HubProcess], _ fleet: inout Fleet, store: String) async throws -> Latency {
        let devices = min(100, options.maxDevices)
        let messages = max(2, Int(options.pacedSeconds * 25))
        let plans = try fleet.plans(devices: 0..<devices, messages: messages, readings: 1, deflate: false, window: messages)
        let book = try await loads[0].paced(plans, subscribers: 1, readings: 1, fleet: fleet, streamHub: hubs.last)
        return Latency(
            store: store, hubs: hubs.count, crossInstance: hubs.count > 1,
            offeredValuesPerSecond: devices * MessageCorpus.metricsPerReading * 25, deliveries: book.deliveries,
            p50Ms: book.percentileMs(50), p99Ms: book.percentileMs(99), p999Ms: book.percentileMs(99.9), maxMs: book.percentileMs(100))
    }

    private func hubSeconds(_ loads: [LoadGenerator]) -> Double {
        loads.reduce(0) { $0 + ($1.hub.cpuSeconds() ?? 0) }
    }

    private func serverSeconds() -> Double? {
        options.postgresPID.flatMap(ProcessCPU.treeSeconds(root:))
    }
}
