import Foundation
import NIOCore
import NIOHTTP1
import TelehubAuth
import TelehubCore
import TelehubSQLite
import TelehubStore

/// The doors (`telehub bench --ingest --sections lineprotocol,promql`):
/// line protocol through `/write` against the same values as JSON through
/// `POST /v1/ingest`, both over the same keep-alive HTTP framing and in the
/// same run (and InfluxDB on the same line protocol, with `--influx`); and
/// range queries of the Prometheus door over a month of 1 Hz data.
public struct DoorBenchmark {
    /// One write case: the hub's values per its own CPU second, each way.
    public struct LineProtocolFigures: Codable, Sendable {
        public var devices: Int
        public var readingsPerRequest: Int
        public var values: Int
        public var nativeValuesPerSecond: Double
        public var nativeValuesPerHubCPUSecond: Double
        public var lineValuesPerSecond: Double
        public var lineValuesPerHubCPUSecond: Double
        /// Line protocol per hub CPU second over native: the door's overhead.
        public var lineToNative: Double
        public var influx: IngestBenchmark.PeerFigures?
    }

    /// One query shape: wall time per answer, over `runs` answers, and the hub's CPU per answer.
    public struct QueryFigures: Codable, Sendable {
        public var name: String
        public var query: String
        public var spanDays: Double
        public var stepSeconds: Int
        public var points: Int
        public var medianMs: Double
        public var p99Ms: Double
        public var hubCPUMsPerQuery: Double
    }

    static let lineCases = [(100, 100), (10, 1000)]

    let options: IngestBenchmark.Options

    // MARK: - Line protocol

    func lineProtocol(_ load: LoadGenerator, _ fleet: inout Fleet, devices: Int, readings: Int) async throws -> LineProtocolFigures {
        let messages = max(2, options.valuesPerCase / (devices * readings * MessageCorpus.metricsPerReading))
        let values = devices * messages * readings * MessageCorpus.metricsPerReading
        let window = min(8, max(1, IngestBenchmark.maxValuesInFlight / (devices * readings * MessageCorpus.metricsPerReading)))
        let host = "\(load.hub.host):\(load.hub.port)"
        // The same readings each way, at new times each way, so each stores every value.
        let native = try (0..<devices).map { device in
            try HTTPWriteLoad.nativePlan(
                device: device, messages: messages, firstSeq: fleet.nextSeq[device], ts: fleet.nextTs[device], readings: readings,
                window: window, host: host, token: fleet.tokens[device])
        }
        fleet.advance(devices: 0..<devices, messages: messages, readings: readings)
        let lines = (0..<devices).map { device in
            InfluxLoad.plan(device: device, messages: messages, ts: fleet.nextTs[device], readings: readings, window: window,
                            host: host, token: fleet.tokens[device])
        }
        let influxBase = fleet.nextTs
        fleet.advance(devices: 0..<devices, messages: messages, readings: readings)
        let (nativeRate, nativePerCPU) = try await measure(load, native, server: load.hub, values: values)
        let (lineRate, linePerCPU) = try await measure(load, lines, server: load.hub, values: values)
        var figures = LineProtocolFigures(
            devices: devices, readingsPerRequest: readings, values: values, nativeValuesPerSecond: nativeRate,
            nativeValuesPerHubCPUSecond: nativePerCPU, lineValuesPerSecond: lineRate, lineValuesPerHubCPUSecond: linePerCPU,
            lineToNative: linePerCPU / nativePerCPU)
        if let peer = options.peer {
            let server = HubProcess(host: peer.host, port: peer.port, pid: peer.pid)
            let plans = (0..<devices).map { device in
                InfluxLoad.plan(device: device, messages: messages, ts: influxBase[device], readings: readings, window: window,
                                host: "\(peer.host):\(peer.port)")
            }
            let (rate, perCPU) = try await measure(load, plans, server: server, values: values)
            figures.influx = IngestBenchmark.PeerFigures(valuesPerSecond: rate, valuesPerServerCPUSecond: perCPU, hubRatio: linePerCPU / perCPU)
        }
        return figures
    }

    /// Values a second and values per CPU second of `server` for one load.
    private func measure(_ load: LoadGenerator, _ plans: [DevicePlan], server: HubProcess, values: Int) async throws -> (Double, Double) {
        let cpu = server.cpuSeconds() ?? 0
        let started = ContinuousClock.now
        try await load.saturateHTTP(plans, server: server)
        let elapsed = (ContinuousClock.now - started).seconds
        let used = (server.cpuSeconds() ?? 0) - cpu
        return (Double(values) / elapsed, Double(values) / max(used, 0.01))
    }

    // MARK: - PromQL

    /// A database holding `days` of one series at 1 Hz (a month by default),
    /// written through the store in day-sized commits so its rollups are
    /// built as the hub builds them; then a hub on it answers each query
    /// shape `runs` times.
    func queries(directory: URL, days: Int, runs: Int, group: any EventLoopGroup, progress: @Sendable (String) -> Void) async throws
        -> [QueryFigures]
    {
        let database = directory.appendingPathComponent("month.sqlite").path
        let end = EpochClock.nowMs() / 3_600_000 * 3_600_000
        let start = end - Int64(days) * 86_400_000
        let token = try await Self.fill(database: database, from: start, to: end)
        progress("promql: \(days) days of 1 Hz data in one series (\(days * 86_400) values)")
        let hub = try await HubProcess.start(database: database, settings: [], binary: options.hubBinary, group: group)
        defer { hub.stop() }
        let channel = try await HTTPExchange.connect(host: hub.host, port: hub.port, group: group)
        defer { channel.close(promise: nil) }
        let month = (start: end - Int64(days) * 86_400_000, end: end)
        let hour = (start: end - 3_600_000, end: end)
        let shapes: [(String, String, (start: Int64, end: Int64), Int)] = [
            ("\(days) days, 1 h step, avg_over_time", "avg_over_time(power[1h])", month, 3600),
            ("\(days) days, 1 h step, plain selector", "power", month, 3600),
            ("1 hour, 15 s step, avg_over_time", "avg_over_time(power[15s])", hour, 15),
            ("1 hour, 15 s step, plain selector", "power", hour, 15),
        ]
        var figures: [QueryFigures] = []
        for (name, query, range, step) in shapes {
            let path = "/api/v1/query_range?query=\(query.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")"
                + "&start=\(range.start / 1000)&end=\(range.end / 1000)&step=\(step)"
            var times: [Double] = []
            let cpu = hub.cpuSeconds() ?? 0
            var points = 0
            for _ in 0..<runs {
                let started = ContinuousClock.now
                let answer = try await HTTPExchange.send(channel, .GET, path, token: token)
                times.append((ContinuousClock.now - started).seconds * 1000)
                guard answer.status == 200 else { throw DoorBenchmarkFailure.query(answer.status, answer.body) }
                points = answer.body.components(separatedBy: "],[").count
            }
            let used = ((hub.cpuSeconds() ?? 0) - cpu) * 1000 / Double(runs)
            times.sort()
            let row = QueryFigures(
                name: name, query: query, spanDays: Double(range.end - range.start) / 86_400_000, stepSeconds: step, points: points,
                medianMs: times[times.count / 2], p99Ms: times[min(times.count - 1, times.count * 99 / 100)], hubCPUMsPerQuery: used)
            figures.append(row)
            progress(String(
                format: "promql %@ (%@): %d points, median %.2f ms, p99 %.2f ms, hub CPU %.2f ms a query",
                name, query, points, row.medianMs, row.p99Ms, row.hubCPUMsPerQuery))
        }
        return figures
    }

    /// Writes the series and mints a read token. - Returns: the token.
    private static func fill(database: String, from: Int64, to: Int64) async throws -> String {
        let store = try SQLiteStore(path: database)
        let device = try await store.ensureDevice(named: "meter")
        var ts = from
        var random = SplitMix(seed: 7)
        var watts = 400.0
        while ts < to {
            let dayEnd = min(to, ts + 86_400_000)
            var points: [SeriesPoint] = []
            points.reserveCapacity(86_400)
            while ts < dayEnd {
                watts = max(0, watts + Double(Int.random(in: -20...20, using: &random)) / 2)
                points.append(SeriesPoint(deviceID: device, metric: "power", ts: ts, value: watts))
                ts += 1000
            }
            try await store.commit(CommitBatch(points: points, progress: [DeviceProgress(deviceID: device, lastSeq: nil, lastSeen: ts)]))
        }
        let secret = TokenSecret.generate(.read)
        _ = try await store.createToken(NewToken(kind: .read, device: nil, label: "bench", expiresAt: nil, hash: secret.hash))
        return secret.value
    }
}

enum DoorBenchmarkFailure: Error, CustomStringConvertible {
    case query(Int, String)

    var description: String {
        switch self {
        case .query(let status, let body): "a query was answered \(status): \(body.prefix(300))"
        }
    }
}
