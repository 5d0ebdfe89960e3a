import Synchronization
public import Foundation
import Histogram
import NIOCore
import NIOHTTP1
import NIOPosix
import TelehubAuth
import TelehubCore
import TelehubSQLite
import TelehubStore

/// `telehub bench --ingest`: a hub on a temporary database driven over real
/// loopback sockets by a load generator written for speed (pre-framed
/// messages, every device of a run on a few event loops), with the hub's
/// own CPU and memory read from `/proc`. Every figure of one run comes from
/// the same machine state, so ratios between them hold on a noisy machine.
public struct IngestBenchmark: Sendable {
    public struct Options: Sendable {
        /// Values each throughput case sends in all.
        public var valuesPerCase = 2_000_000
        /// The most idle device connections the memory curve reaches (1,000,
        /// 5,000, 10,000, then this), within the descriptors this process may open.
        public var idleConnections = 19_000
        /// Of the connected devices, how many then send one reading (4 values)
        /// a second: 2,500 offer 10,000 values a second.
        public var pacedConnections = 2_500
        /// Metrics in each reading of those paced devices (1...4).
        public var pacedMetrics = 4
        public var subscribers = 1000
        /// How long each paced load (latency, fan-out) sends.
        public var pacedSeconds = 5.0
        public var loadThreads = 1
        /// Caps the devices of every case: the smoke test's 1,000-device case has 20.
        public var maxDevices = 1000
        /// Another `telehub` executable to start as the hub (before-and-after comparisons).
        public var hubBinary: String?
        public var sections = Set(Section.allCases)
        /// The throughput cases to run, by name (`100x1`, `100x100d`); nil for all.
        public var throughputCases: Set<String>?
        /// An InfluxDB 1.x to run the same throughput cases against, in the same run.
        public var peer: Peer?
        /// Rules active in the alerts section's second run.
        public var alertRules = 100
        /// Commands the commands section sends to measure the accept rate.
        public var commands = 4000
        /// Commands a second sent beside ingest in the commands section.
        public var commandsDuringIngest = 100.0
        /// Days of 1 Hz data the promql section queries, and answers timed per query shape.
        public var promqlDays = 30
        public var promqlRuns = 50

        public init() {}

        /// A few seconds in all: every section runs and reports, on a tiny load.
        public static var smoke: Options {
            var options = Options()
            options.valuesPerCase = 8000
            options.idleConnections = 50
            options.pacedConnections = 10
            options.subscribers = 10
            options.pacedSeconds = 0.4
            options.maxDevices = 20
            options.commands = 40
            options.promqlDays = 1
            options.promqlRuns = 3
            return options
        }
    }

    /// A running InfluxDB 1.x (`host:port`), and its pid for its CPU seconds.
    public struct Peer: Sendable {
        public var host: String
        public var port: Int
        public var pid: Int32

        public init(host: String, port: Int, pid: Int32) {
            self.host = host
            self.port = port
            self.pid = pid
        }
    }

    /// The same load written to the peer, when there is one.
    public struct PeerFigures: Codable, Sendable {
        public var valuesPerSecond: Double
        public var valuesPerServerCPUSecond: Double
        /// The hub's values per CPU second over the peer's.
        public var hubRatio: Double
    }

    /// The parts of a run; start to healthy and idle RSS are always measured.
    public enum Section: String, CaseIterable, Sendable {
        case throughput, latency, fanout, alerts, commands, lineprotocol, promql, idle
    }

    /// One run of the alerts section: the same case with `rules` rules active.
    public struct AlertLoad: Codable, Sendable {
        public var rules: Int
        /// `quiet`: limits outside the sensors' ranges, as rules mostly are;
        /// `noisy`: limits inside them, on values that are random from one
        /// reading to the next, so states change all the time (the worst case).
        public var thresholds: String
        public var values: Int
        public var valuesPerSecond: Double
        public var valuesPerHubCPUSecond: Double
        /// Transitions the rules recorded during the run.
        public var transitions: Int
    }

    public struct Throughput: Codable, Sendable {
        public var devices: Int
        public var readingsPerMessage: Int
        public var deflate: Bool
        /// Unacknowledged messages each device may have.
        public var window: Int
        public var values: Int
        public var valuesPerSecond: Double
        public var valuesPerHubCPUSecond: Double
        /// The hub's mean commit, in values (from its `/metrics`).
        public var meanFlushValues: Int
        /// The store alone, in this process, on the same series and values in
        /// commits of `meanFlushValues`.
        public var storeValuesPerCPUSecond: Double
        /// `valuesPerHubCPUSecond` over `storeValuesPerCPUSecond`.
        public var ratioToStore: Double
        /// InfluxDB on the same load, when `--influx` names one (not for deflate).
        public var influx: PeerFigures?
    }

    public struct Latency: Codable, Sendable {
        public var offeredValuesPerSecond: Int
        public var devices: Int
        public var readingsPerMessage: Int
        public var deliveries: Int
        public var p50Ms: Double
        public var p99Ms: Double
        public var p999Ms: Double
        public var maxMs: Double
        /// Cores busy while the load ran: the hub's, and the generator's own.
        public var hubCores: Double
        public var generatorCores: Double
    }

    public struct FanOut: Codable, Sendable {
        public var subscribers: Int
        public var readingsPerSecond: Int
        public var deliveries: Int
        public var deliveriesPerSecond: Double
        public var p50LagMs: Double
        public var p99LagMs: Double
        public var hubCores: Double
        public var generatorCores: Double
    }

    public struct IdleConnections: Codable, Sendable {
        public var deflate: Bool
        public var connections: Int
        public var hubRSSBeforeKiB: Int
        public var hubRSSAfterKiB: Int
        public var kibPerConnection: Double
        /// The hub's memory at each step of connections, on the same hub.
        public var curve: [ConnectionBenchmark.Step] = []
        /// Then `pacedConnections` of them send one reading a second, the rest idle.
        public var paced: Latency?
        /// The growth per connection by kind of mapping (`HubProcess.residentByKind`).
        public var kibPerConnectionByKind: [String: Double]
    }

    public struct Report: Codable, Sendable {
        public var startToHealthyMs: Double = 0
        public var idleRSSMiB: Double = 0
        public var throughput: [Throughput] = []
        public var latency: [Latency] = []
        public var fanOut: FanOut?
        public var alerts: [AlertLoad] = []
        public var commands: CommandBenchmark.Figures?
        public var lineProtocol: [DoorBenchmark.LineProtocolFigures] = []
        public var queries: [DoorBenchmark.QueryFigures] = []
        public var idleConnections: [IdleConnections] = []
        public var reconnectStorm: ReconnectStorm.Figures?
    }

    let options: Options
    let directory: URL

    public init(options: Options, directory: URL) {
        self.options = options
        self.directory = directory
    }

    /// Runs every section, reporting each figure through `progress` as it comes.
    public func run(progress: @escaping @Sendable (String) -> Void) async throws -> Report {
        Self.raiseOpenFileLimit()
        return try await LoadGenerator.withGroup(threads: options.loadThreads) { group in try await run(group: group, progress: progress) }
    }

    private func run(group: MultiThreadedEventLoopGroup, progress: @escaping @Sendable (String) -> Void) async throws -> Report {
        var report = Report()

        let database = directory.appendingPathComponent("hub.sqlite").path
        var fleet = try await Fleet.mint(store: try SQLiteStore(path: database), devices: max(2000, options.idleConnections, options.pacedConnections))
        let hub = try await HubProcess.start(database: database, settings: Self.hubSettings, binary: options.hubBinary, group: group)
        do {
            try await Task.sleep(for: .seconds(1))
            report.startToHealthyMs = (hub.startToHealthySeconds ?? 0) * 1000
            report.idleRSSMiB = Double(hub.residentKiB() ?? 0) / 1024
            progress(String(format: "start to healthy %.1f ms, idle RSS %.1f MiB", report.startToHealthyMs, report.idleRSSMiB))

            let load = LoadGenerator(group: group, hub: hub, readToken: fleet.readToken)
            if options.sections.contains(.throughput) { try await runThroughput(load, &fleet, &report, progress) }
            if options.sections.contains(.latency) { try await runLatency(load, &fleet, &report, progress) }
            if options.sections.contains(.fanout) { try await runFanOut(load, &fleet, &report, progress) }
            if options.sections.contains(.alerts) { try await runAlerts(load, &fleet, database: database, &report, progress) }
            if options.sections.contains(.commands) { try await runCommands(load, &fleet, &report, progress) }
            if options.sections.contains(.lineprotocol) { try await runLineProtocol(load, &fleet, &report, progress) }
        } catch {
            hub.stop()
            throw error
        }
        hub.stop()

        if options.sections.contains(.promql) {
            report.queries = try await DoorBenchmark(options: options).queries(
                directory: directory, days: options.promqlDays, runs: options.promqlRuns, group: group, progress: progress)
        }
        if options.sections.contains(.idle) { try await runIdle(database: database, fleet: fleet, group: group, &report, progress) }
        return report
    }

    // MARK: - Running and reporting each section

    private func runThroughput(
        _ load: LoadGenerator, _ fleet: inout Fleet, _ report: inout Report, _ progress: @Sendable (String) -> Void
    ) async throws {
        for (devices, readings, deflate) in Self.throughputCases
        where options.throughputCases?.contains(Self.caseName(devices, readings, deflate)) ?? true {
            let devices = min(devices, options.maxDevices)
            let row = try await throughput(load, &fleet, devices: devices, readings: readings, deflate: deflate)
            report.throughput.append(row)
            progress(String(
                format: "ingest %4d devices x %4d readings x 4 metrics, window %d%@: %9.0f values/s, %9.0f per hub CPU s; store alone %9.0f per CPU s in commits of %d (hub %.2fx)",
                devices, readings, row.window, deflate ? ", deflate" : "", row.valuesPerSecond, row.valuesPerHubCPUSecond,
                row.storeValuesPerCPUSecond, row.meanFlushValues, row.ratioToStore))
            if let influx = row.influx {
                progress(String(
                    format: "       InfluxDB, same load: %9.0f values/s, %9.0f per server CPU s (hub %.2fx per CPU s, %.2fx values/s)",
                    influx.valuesPerSecond, influx.valuesPerServerCPUSecond, influx.hubRatio, row.valuesPerSecond / influx.valuesPerSecond))
            }
        }
    }

    private func runLineProtocol(
        _ load: LoadGenerator, _ fleet: inout Fleet, _ report: inout Report, _ progress: @Sendable (String) -> Void
    ) async throws {
        for (devices, readings) in DoorBenchmark.lineCases {
            let devices = min(devices, options.maxDevices)
            let row = try await DoorBenchmark(options: options).lineProtocol(load, &fleet, devices: devices, readings: readings)
            report.lineProtocol.append(row)
            progress(String(
                format: "line protocol %4d devices x %4d lines x 4 fields over HTTP: /write %9.0f values/s, %9.0f per hub CPU s; /v1/ingest (JSON) %9.0f values/s, %9.0f per hub CPU s (line protocol %.2fx)",
                devices, readings, row.lineValuesPerSecond, row.lineValuesPerHubCPUSecond, row.nativeValuesPerSecond,
                row.nativeValuesPerHubCPUSecond, row.lineToNative))
            if let influx = row.influx {
                progress(String(
                    format: "       InfluxDB, same lines: %9.0f values/s, %9.0f per server CPU s (hub's /write %.2fx per CPU s)",
                    influx.valuesPerSecond, influx.valuesPerServerCPUSecond, influx.hubRatio))
            }
        }
    }

    private func runLatency(
        _ load: LoadGenerator, _ fleet: inout Fleet, _ report: inout Report, _ progress: @Sendable (String) -> Void
    ) async throws {
        for (devices, readings) in [(10, 1), (100, 1), (100, 10)] {
            let devices = min(devices, options.maxDevices)
            let row = try await latency(load, &fleet, devices: devices, readings: readings)
            report.latency.append(row)
            progress(String(
                format: "latency at %6d values/s offered (%d devices x %d readings every 40 ms): p50 %.2f ms, p99 %.2f, p999 %.2f, max %.2f (%d deliveries; hub %.2f cores, generator %.2f)",
                row.offeredValuesPerSecond, devices, readings, row.p50Ms, row.p99Ms, row.p999Ms, row.maxMs, row.deliveries,
                row.hubCores, row.generatorCores))
        }
    }

    private func runFanOut(
        _ load: LoadGenerator, _ fleet: inout Fleet, _ report: inout Report, _ progress: @Sendable (String) -> Void
    ) async throws {
        let fan = try await fanOut(load, &fleet)
        report.fanOut = fan
        progress(String(
            format: "fan-out to %d stream subscribers of %d readings/s: %.0f deliveries/s, lag p50 %.2f ms, p99 %.2f ms (hub %.2f cores, generator %.2f)",
            fan.subscribers, fan.readingsPerSecond, fan.deliveriesPerSecond, fan.p50LagMs, fan.p99LagMs, fan.hubCores, fan.generatorCores))
    }

    /// Commands to devices that answer at once, 1,000 of them connected
    /// (the last of the fleet, apart from the devices that send readings).
    private func runCommands(
        _ load: LoadGenerator, _ fleet: inout Fleet, _ report: inout Report, _ progress: @Sendable (String) -> Void
    ) async throws {
        let count = min(1000, options.maxDevices)
        let range = (fleet.tokens.count - count)..<fleet.tokens.count
        let connections = try await load.connect(fleet.idlePlans(devices: range, deflate: false), deflate: false)
        let bench = CommandBenchmark(load: load, controlToken: fleet.controlToken, devices: range.map { "bench-\($0)" })
        let accepted = try await bench.accept(total: options.commands)
        try await bench.settle(after: accepted.lastID)
        let trips = try await bench.roundTrips(seconds: options.pacedSeconds * 2)
        let devices = min(100, options.maxDevices)
        let alone = try await throughput(load, &fleet, devices: devices, readings: 100, deflate: false, storeAlone: false)
        let stop = StopFlag()
        let steady = Task { try await bench.steady(perSecond: options.commandsDuringIngest, until: { stop.isSet }) }
        let started = ContinuousClock.now
        let beside = try await throughput(load, &fleet, devices: devices, readings: 100, deflate: false, storeAlone: false)
        let elapsed = (ContinuousClock.now - started).seconds
        stop.set()
        let sentBeside = try await steady.value
        await load.close(connections)
        let figures = CommandBenchmark.Figures(
            devices: count, accepted: options.commands, acceptedPerSecond: accepted.perSecond,
            hubCPUMicrosecondsPerCommand: accepted.cpuMicroseconds, roundTrips: trips.count,
            roundTripP50Ms: Double(trips.histogram.valueAtPercentile(50)) / 1000,
            roundTripP99Ms: Double(trips.histogram.valueAtPercentile(99)) / 1000,
            roundTripMaxMs: Double(trips.histogram.max) / 1000, ingestAlone: alone, ingestWithCommands: beside,
            commandsPerSecondDuringIngest: Double(sentBeside) / elapsed)
        report.commands = figures
        progress(String(
            format: "commands to %d connected devices: %.0f accepted/s (%.0f µs hub CPU each, answered as they come); send -> result p50 %.2f ms, p99 %.2f, max %.2f (%d round trips, %d at once)",
            count, figures.acceptedPerSecond, figures.hubCPUMicrosecondsPerCommand, figures.roundTripP50Ms,
            figures.roundTripP99Ms, figures.roundTripMaxMs, figures.roundTrips, bench.senders))
        progress(String(
            format: "ingest %d devices x 100 readings: alone %.0f values/s, %.0f per hub CPU s; with %.0f commands/s beside %.0f values/s (%.2fx), %.0f per hub CPU s (%.2fx)",
            devices, alone.valuesPerSecond, alone.valuesPerHubCPUSecond, figures.commandsPerSecondDuringIngest,
            beside.valuesPerSecond, beside.valuesPerSecond / alone.valuesPerSecond, beside.valuesPerHubCPUSecond,
            beside.valuesPerHubCPUSecond / alone.valuesPerHubCPUSecond))
    }

    private func runIdle(
        database: String, fleet: Fleet, group: any EventLoopGroup, _ report: inout Report, _ progress: @Sendable (String) -> Void
    ) async throws {
        let bench = ConnectionBenchmark(options: options)
        for deflate in [false, true] {
            let row = try await bench.curve(database: database, fleet: fleet, group: group, deflate: deflate, progress: progress)
            report.idleConnections.append(row)
        }
        let storm = ReconnectStorm(group: group, fleet: fleet, settings: Self.hubSettings, binary: options.hubBinary)
        report.reconnectStorm = try await storm.run(database: database, devices: bench.steps.last ?? 1, progress: progress)
    }

    /// Room for every case's messages in flight (at most 1M values; the
    /// default queue of 100,000 would answer the larger cases `overloaded`).
    static let hubSettings = ["--queue-values", "2000000"]
    static let maxValuesInFlight = 1_000_000

    /// Devices and readings per message, with and without deflate.
    static let throughputCases: [(Int, Int, Bool)] = [
        (100, 1, false), (100, 100, false), (100, 1000, false), (1, 100, false), (1000, 100, false),
        (100, 1, true), (100, 100, true), (100, 1000, true),
    ]

    static func caseName(_ devices: Int, _ readings: Int, _ deflate: Bool) -> String {
        "\(devices)x\(readings)\(deflate ? "d" : "")"
    }

    /// `--cases` takes these.
    public static var throughputCaseNames: [String] { throughputCases.map { caseName($0.0, $0.1, $0.2) } }

    // MARK: - Sections

    /// The store's own write path, fed directly in this process while the
    /// hub idles: the same series, as many values, each device's readings in
    /// runs as its messages carry them, in commits of the size the hub made. Every hub figure is a ratio to it.
    private func storeOnly(devices: Int, readings: Int, values: Int, flushValues: Int) async throws -> Double {
        let folder = directory.appendingPathComponent("store-only-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let seconds = max(1, values / (devices * MessageCorpus.metricsPerReading))
        let insert = try await StoreBenchmark(directory: folder).insert(
            devices: devices, metrics: MessageCorpus.metricsPerReading, seconds: seconds, load: .sensor,
            flushValues: max(1, flushValues), run: readings, rowLayout: false)
        return Double(insert.values) / insert.cpuSeconds
    }

    /// 100 devices × 100 readings with no alert rule, with `alertRules`
    /// quiet rules and with as many noisy ones on every device, alternated,
    /// two rounds: what evaluating rules on every commit costs. No webhooks:
    /// their calls happen off the ingest path (a black-box test shows a
    /// hanging receiver does not slow acks).
    private func runAlerts(
        _ load: LoadGenerator, _ fleet: inout Fleet, database: String, _ report: inout Report, _ progress: @Sendable (String) -> Void
    ) async throws {
        let store = try SQLiteStore(path: database)
        let devices = min(100, options.maxDevices)
        for _ in 0..<2 {
            for (rules, noisy) in [(0, false), (options.alertRules, false), (options.alertRules, true)] {
                var ids: [Int64] = []
                for rule in Self.benchRules(count: rules, noisy: noisy) { ids.append(try await store.createAlertRule(rule).id) }
                try await Task.sleep(for: .seconds(1))  // the hub re-reads rules every 250 ms
                let before = try await store.alertHistory(limit: 1_000_000).events.count
                let row = try await throughput(load, &fleet, devices: devices, readings: 100, deflate: false, storeAlone: false)
                let transitions = try await store.alertHistory(limit: 1_000_000).events.count - before
                for id in ids { _ = try await store.deleteAlertRule(id: id) }
                report.alerts.append(AlertLoad(
                    rules: rules, thresholds: rules == 0 ? "none" : noisy ? "noisy" : "quiet", values: row.values, valuesPerSecond: row.valuesPerSecond,
                    valuesPerHubCPUSecond: row.valuesPerHubCPUSecond, transitions: transitions))
                progress(String(
                    format: "ingest %d devices x 100 readings with %3d alert rules%@: %9.0f values/s, %9.0f per hub CPU s, %d transitions",
                    devices, rules, rules == 0 ? "" : noisy ? " (noisy)" : " (quiet)", row.valuesPerSecond, row.valuesPerHubCPUSecond,
                    transitions))
            }
        }
    }

    /// Rules on every device, above and below in turn, with `--for 5s` and
    /// hysteresis, as an operator would write them: quiet ones beyond each
    /// metric's range (the corpus's sensors), noisy ones spread inside it.
    static func benchRules(count: Int, noisy: Bool) -> [AlertRule] {
        let metrics: [(String, Double, Double)] = [("humidity", 40, 60), ("pressure", 1010, 1040), ("temperature", 20, 28), ("voltage", 3.2, 3.4)]
        return (0..<count).map { index in
            let (metric, low, high) = metrics[index % metrics.count]
            let step = (high - low) / Double(count / metrics.count + 1)
            let above = index % 2 == 0
            let rank = Double(index / metrics.count + 1)
            let limit = noisy ? low + step * rank : above ? high + step * rank : low - step * rank
            let threshold = Threshold(
                direction: above ? .above : .below, limit: limit, forMs: 5000, clearAt: above ? limit - step / 2 : limit + step / 2)
            return AlertRule(id: 0, name: "bench-\(index)", device: nil, metric: metric, condition: .threshold(threshold))
        }
    }

    private func throughput(
        _ load: LoadGenerator, _ fleet: inout Fleet, devices: Int, readings: Int, deflate: Bool, storeAlone: Bool = true
    ) async throws -> Throughput {
        let messages = max(2, options.valuesPerCase / (devices * readings * MessageCorpus.metricsPerReading))
        let valuesPerMessage = readings * MessageCorpus.metricsPerReading
        let window = min(8, max(1, Self.maxValuesInFlight / (devices * valuesPerMessage)))
        let plans = try fleet.plans(devices: 0..<devices, messages: messages, readings: readings, deflate: deflate, window: window)
        let connections = try await load.connect(plans, deflate: deflate)
        let flushes = try await load.hub.flushTotals(group: load.group)
        let cpu = load.hub.cpuSeconds() ?? 0
        let started = ContinuousClock.now
        try await load.saturate(connections)
        let elapsed = (ContinuousClock.now - started).seconds
        let hubCPU = (load.hub.cpuSeconds() ?? 0) - cpu
        let flushed = try await load.hub.flushTotals(group: load.group)
        await load.close(connections)
        let values = devices * messages * readings * MessageCorpus.metricsPerReading
        let perCPU = Double(values) / max(hubCPU, 0.01)
        let meanFlush = Int((flushed.values - flushes.values) / max(1, flushed.flushes - flushes.flushes))
        let storePerCPU = storeAlone ? try await storeOnly(devices: devices, readings: readings, values: values, flushValues: meanFlush) : 0
        var row = Throughput(
            devices: devices, readingsPerMessage: readings, deflate: deflate, window: window, values: values,
            valuesPerSecond: Double(values) / elapsed, valuesPerHubCPUSecond: perCPU, meanFlushValues: meanFlush,
            storeValuesPerCPUSecond: storePerCPU, ratioToStore: storePerCPU > 0 ? perCPU / storePerCPU : 0)
        if let peer = options.peer, !deflate {
            let server = HubProcess(host: peer.host, port: peer.port, pid: peer.pid)
            let peerPlans = (0..<devices).map { device in
                InfluxLoad.plan(device: device, messages: messages, ts: fleet.lastBase[device], readings: readings,
                                window: window, host: "\(peer.host):\(peer.port)")
            }
            let cpu = server.cpuSeconds() ?? 0
            let started = ContinuousClock.now
            try await load.saturateHTTP(peerPlans, server: server)
            let elapsed = (ContinuousClock.now - started).seconds
            let peerPerCPU = Double(values) / max((server.cpuSeconds() ?? 0) - cpu, 0.01)
            row.influx = PeerFigures(valuesPerSecond: Double(values) / elapsed, valuesPerServerCPUSecond: peerPerCPU, hubRatio: perCPU / peerPerCPU)
        }
        return row
    }

    /// Devices send every 40 ms, spread evenly; one stream client receives
    /// every reading; each delivery's latency runs from the send of its message.
    private func latency(_ load: LoadGenerator, _ fleet: inout Fleet, devices: Int, readings: Int) async throws -> Latency {
        let messages = max(2, Int(options.pacedSeconds * 25))
        let plans = try fleet.plans(devices: 0..<devices, messages: messages, readings: readings, deflate: false, window: messages)
        let book = try await load.paced(plans, subscribers: 1, readings: readings, fleet: fleet)
        return Latency(
            offeredValuesPerSecond: devices * readings * MessageCorpus.metricsPerReading * 25, devices: devices,
            readingsPerMessage: readings, deliveries: book.deliveries, p50Ms: book.percentileMs(50),
            p99Ms: book.percentileMs(99), p999Ms: book.percentileMs(99.9), maxMs: book.percentileMs(100),
            hubCores: book.hubCPUShare, generatorCores: book.generatorCPUShare)
    }

    /// One device sending 5 readings every 40 ms (125 a second) to many stream
    /// clients: 125,000 deliveries a second offered to 1,000.
    private func fanOut(_ load: LoadGenerator, _ fleet: inout Fleet) async throws -> FanOut {
        let messages = max(2, Int(options.pacedSeconds * 25))
        let plans = try fleet.plans(devices: 0..<1, messages: messages, readings: 5, deflate: false, window: messages)
        let book = try await load.paced(plans, subscribers: options.subscribers, readings: 5, fleet: fleet)
        return FanOut(
            subscribers: options.subscribers, readingsPerSecond: 125, deliveries: book.deliveries,
            deliveriesPerSecond: Double(book.deliveries) / max(book.spanSeconds, 1e-9),
            p50LagMs: book.percentileMs(50), p99LagMs: book.percentileMs(99),
            hubCores: book.hubCPUShare, generatorCores: book.generatorCPUShare)
    }

    /// 10,000 connections need as many descriptors; the hub inherits the limit.
    private static func raiseOpenFileLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }

    /// The descriptors this process may open now.
    static func openFileLimit() -> Int {
        var limit = rlimit()
        return getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 ? Int(min(limit.rlim_cur, 1 << 30)) : 1024
    }
}

/// The benchmark's devices `bench-0`, `bench-1`, …: their tokens, and the
/// `seq` and `ts` each will send next, so every case stores new readings.
struct Fleet {
    var tokens: [String]
    var readToken: String
    var controlToken: String
    var nextSeq: [Int]
    var nextTs: [Int64]

    static func mint(store: any TokenStore, devices: Int) async throws -> Fleet {
        var tokens: [String] = []
        tokens.reserveCapacity(devices)
        for index in 0..<devices {
            tokens.append(try await mintToken(.device, device: "bench-\(index)", label: nil, in: store))
        }
        let read = try await mintToken(.read, device: nil, label: "bench", in: store)
        let control = try await mintToken(.control, device: nil, label: "bench", in: store)
        // Two days back, so every case's readings lie in the past and in order.
        let start = EpochClock.nowMs() - 2 * 86_400_000
        return Fleet(tokens: tokens, readToken: read, controlToken: control, nextSeq: Array(repeating: 1, count: devices), nextTs: Array(repeating: start, count: devices))
    }

    /// A token stored in `store`, as the CLI makes one. - Returns: its secret.
    private static func mintToken(_ kind: TokenKind, device: String?, label: String?, in store: any TokenStore) async throws
        -> String
    {
        let secret = TokenSecret.generate(kind)
        _ = try await store.createToken(NewToken(kind: kind, device: device, label: label, expiresAt: nil, hash: secret.hash))
        return secret.value
    }

    /// The `ts` a delivered reading's message started at is `ts - (ts - base) % readings`:
    /// the base of each device for the plans made last.
    private(set) var lastBase: [Int64] = []

    mutating func plans(
        devices: Range<Int>, messages: Int, readings: Int, deflate: Bool, window: Int, metrics: Int = MessageCorpus.metricsPerReading
    ) throws -> [DevicePlan] {
        lastBase = nextTs
        defer { advance(devices: devices, messages: messages, readings: readings) }
        return try devices.map { device in
            // One corpus a device, as the peer's, so both get the very same values.
            var corpus = try MessageCorpus(deflate: deflate, metrics: metrics)
            let firstSeq = nextSeq[device]
            var frames: [ByteBuffer] = []
            frames.reserveCapacity(messages)
            for message in 0..<messages {
                frames.append(try corpus.frame(seq: firstSeq + message, ts: nextTs[device] + Int64(message * readings), readings: readings))
            }
            return DevicePlan(device: "bench-\(device)", upgradeRequest: upgradeRequest(device, deflate: deflate),
                              frames: frames, firstSeq: firstSeq, window: window)
        }
    }

    /// Moves each device's next `seq` and `ts` past `messages` messages of `readings`.
    mutating func advance(devices: Range<Int>, messages: Int, readings: Int) {
        for device in devices {
            nextSeq[device] += messages
            nextTs[device] += Int64(messages * readings)
        }
    }

    func idlePlans(devices: Range<Int>, deflate: Bool) -> [DevicePlan] {
        devices.map { device in
            DevicePlan(device: "bench-\(device)", upgradeRequest: upgradeRequest(device, deflate: deflate),
                       frames: [], firstSeq: nextSeq[device], window: 1)
        }
    }

    private func upgradeRequest(_ device: Int, deflate: Bool) -> ByteBuffer {
        var request = "GET /v1/ingest HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        request += "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        request += "Authorization: Bearer \(tokens[device])\r\n"
        if deflate {
            request += "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover; server_no_context_takeover\r\n"
        }
        return ByteBuffer(string: request + "\r\n")
    }
}

/// Set once, read from any task: tells a background load to stop.
final class StopFlag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}
