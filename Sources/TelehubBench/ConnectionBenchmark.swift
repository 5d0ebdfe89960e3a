import Foundation
import NIOCore

/// The `idle` section: how the hub's memory grows with connected devices,
/// step by step on one hub (a curve, so that a cost per connection that is
/// not constant shows), and then device-to-stream latency with thousands of
/// them sending one reading a second while the rest stay connected.
public struct ConnectionBenchmark: Sendable {
    let options: IngestBenchmark.Options

    /// The hub's memory with `connections` devices connected.
    public struct Step: Codable, Sendable {
        public var connections: Int
        public var hubRSSKiB: Int
        /// Growth since the hub idled with none, per connection.
        public var kibPerConnection: Double
        /// Growth since the previous step, per connection added.
        public var kibPerAddedConnection: Double
    }

    /// Steps of 1,000, 5,000, 10,000 and the last, as far as the options and
    /// the descriptors this process may open allow.
    var steps: [Int] {
        // The generator holds one descriptor a connection too, and needs some of its own.
        let room = IngestBenchmark.openFileLimit() - 500
        let most = max(1, min(options.idleConnections, room))
        return ([1000, 5000, 10_000].filter { $0 < most } + [most])
    }

    func curve(
        database: String, fleet: Fleet, group: any EventLoopGroup, deflate: Bool, progress: @Sendable (String) -> Void
    ) async throws -> IngestBenchmark.IdleConnections {
        let hub = try await HubProcess.start(
            database: database, settings: IngestBenchmark.hubSettings, binary: options.hubBinary, group: group)
        defer { hub.stop() }
        let load = LoadGenerator(group: group, hub: hub, readToken: fleet.readToken)
        try await Task.sleep(for: .seconds(1))
        let before = hub.residentKiB() ?? 0
        let kindsBefore = hub.residentByKind()
        var connections: [LoadGenerator.Connection] = []
        var curve: [Step] = []
        for step in steps {
            let plans = fleet.idlePlans(devices: connections.count..<step, deflate: deflate)
            connections += try await load.connect(plans, deflate: deflate)
            try await Task.sleep(for: .seconds(2))
            let rss = hub.residentKiB() ?? 0
            let previous = curve.last.map { ($0.connections, $0.hubRSSKiB) } ?? (0, before)
            curve.append(Step(
                connections: connections.count, hubRSSKiB: rss,
                kibPerConnection: Double(rss - before) / Double(max(1, connections.count)),
                kibPerAddedConnection: Double(rss - previous.1) / Double(max(1, connections.count - previous.0))))
            progress(String(
                format: "%6d device connections%@: hub RSS %.1f MiB, %.1f KiB per connection (%.1f KiB for each of the last %d)",
                connections.count, deflate ? " with deflate" : "", Double(rss) / 1024, curve.last!.kibPerConnection,
                curve.last!.kibPerAddedConnection, connections.count - previous.0))
        }
        let after = hub.residentKiB() ?? 0
        let count = Double(max(1, connections.count))
        let byKind = hub.residentByKind().mapValues(Double.init).merging(kindsBefore.mapValues { -Double($0) }, uniquingKeysWith: +)
            .mapValues { $0 / count }
        var row = IngestBenchmark.IdleConnections(
            deflate: deflate, connections: connections.count, hubRSSBeforeKiB: before, hubRSSAfterKiB: after,
            kibPerConnection: Double(after - before) / count, curve: curve, kibPerConnectionByKind: byKind)
        if !deflate {
            row.paced = try await paced(load, fleet: fleet, connections: &connections, progress: progress)
        }
        await load.close(connections)
        return row
    }

    /// The first `pacedConnections` devices reconnect and send one reading a
    /// second each, evenly spread, while the others stay connected and
    /// silent; one stream client receives every reading.
    private func paced(
        _ load: LoadGenerator, fleet: Fleet, connections: inout [LoadGenerator.Connection], progress: @Sendable (String) -> Void
    ) async throws -> IngestBenchmark.Latency {
        let devices = min(options.pacedConnections, connections.count)
        await load.close(Array(connections[..<devices]))
        connections.removeFirst(devices)
        var fleet = fleet
        let seconds = max(2, Int(options.pacedSeconds.rounded()))
        let plans = try fleet.plans(
            devices: 0..<devices, messages: seconds, readings: 1, deflate: false, window: seconds, metrics: options.pacedMetrics)
        let book = try await load.paced(plans, subscribers: 1, readings: 1, fleet: fleet, interval: .seconds(1), filtered: false)
        let row = IngestBenchmark.Latency(
            offeredValuesPerSecond: devices * options.pacedMetrics, devices: devices, readingsPerMessage: 1,
            deliveries: book.deliveries, p50Ms: book.percentileMs(50), p99Ms: book.percentileMs(99),
            p999Ms: book.percentileMs(99.9), maxMs: book.percentileMs(100), hubCores: book.hubCPUShare,
            generatorCores: book.generatorCPUShare)
        progress(String(
            format: "%d of %d connected devices sending a reading a second (%d values/s): device -> stream p50 %.2f ms, p99 %.2f, p999 %.2f, max %.2f (%d deliveries; hub %.2f cores, generator %.2f)",
            devices, devices + connections.count, row.offeredValuesPerSecond, row.p50Ms, row.p99Ms, row.p999Ms, row.maxMs,
            row.deliveries, row.hubCores, row.generatorCores))
        return row
    }
}
