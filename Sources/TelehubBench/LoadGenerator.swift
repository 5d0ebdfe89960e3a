import Foundation
import Histogram
import NIOCore
import NIOHTTP1
import NIOPosix
import TelehubSQLite
import TelehubStore

/// Opens device connections and stream clients against one hub, many per
/// event loop, and drives them: saturating (each device keeps its window
/// full) or paced (one message per device every 40 ms, latency recorded).
struct LoadGenerator: Sendable {
    let group: any EventLoopGroup
    let hub: HubProcess
    let readToken: String

    struct Connection: Sendable {
        let channel: any Channel
        let handler: NIOLoopBound<DeviceConnection>
        let finished: EventLoopFuture<Void>
    }

    /// Runs `body` on a fresh group of `threads` event loops, shut down after, whatever the outcome.
    static func withGroup<Result: Sendable>(
        threads: Int, _ body: (MultiThreadedEventLoopGroup) async throws -> Result
    ) async throws -> Result {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        do {
            let result = try await body(group)
            try? await group.shutdownGracefully()
            return result
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    /// At most this many upgrades in flight, so the hub's accept backlog never overflows.
    private static let connectConcurrency = 200

    /// Connects every plan's device and waits for each `hello`.
    func connect(_ plans: [DevicePlan], deflate: Bool, on fixedLoop: (any EventLoop)? = nil) async throws -> [Connection] {
        var connections: [Connection] = []
        connections.reserveCapacity(plans.count)
        var start = 0
        while start < plans.count {
            let slice = plans[start..<min(plans.count, start + Self.connectConcurrency)]
            try await withThrowingTaskGroup(of: (Int, Connection).self) { tasks in
                for (index, plan) in zip(slice.indices, slice) {
                    tasks.addTask { (index, try await connect(plan, deflate: deflate, loop: fixedLoop ?? group.next())) }
                }
                var done: [(Int, Connection)] = []
                for try await connection in tasks { done.append(connection) }
                connections.append(contentsOf: done.sorted { $0.0 < $1.0 }.map(\.1))
            }
            start += Self.connectConcurrency
        }
        return connections
    }

    private func connect(_ plan: DevicePlan, deflate: Bool, loop: any EventLoop) async throws -> Connection {
        let connected = loop.makePromise(of: Void.self)
        let finished = loop.makePromise(of: Void.self)
        let handler = try await loop.submit {
            NIOLoopBound(
                DeviceConnection(
                    plan: plan, deflate: deflate, inflater: deflate ? try LoopInflater.forThisThread() : nil,
                    connected: connected, finished: finished),
                eventLoop: loop)
        }.get()
        let channel = try await ClientBootstrap(group: loop)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler.value) }
            }
            .connect(host: hub.host, port: hub.port).get()
        if plan.frames.isEmpty { finished.succeed() }
        try await connected.futureResult.get()
        return Connection(channel: channel, handler: handler, finished: finished.futureResult)
    }

    /// Writes every plan's requests to the InfluxDB peer at `server`, each
    /// connection keeping its window full; returns when all are answered.
    func saturateHTTP(_ plans: [DevicePlan], server: HubProcess) async throws {
        var channels: [(any Channel, NIOLoopBound<HTTPWriteConnection>, EventLoopFuture<Void>)] = []
        for plan in plans {
            let loop = group.next()
            let finished = loop.makePromise(of: Void.self)
            let handler = try await loop.submit { NIOLoopBound(HTTPWriteConnection(plan: plan, finished: finished), eventLoop: loop) }.get()
            let channel = try await ClientBootstrap(group: loop)
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler.value) }
                }
                .connect(host: server.host, port: server.port).get()
            channels.append((channel, handler, finished.futureResult))
        }
        for (channel, handler, _) in channels { channel.eventLoop.execute { handler.value.start() } }
        for (_, _, finished) in channels { try await finished.get() }
        for (channel, _, _) in channels { try? await channel.close() }
    }

    /// Every device fills its window and refills it on each ack, until all
    /// its messages are acknowledged.
    func saturate(_ connections: [Connection]) async throws {
        for connection in connections {
            connection.channel.eventLoop.execute { connection.handler.value.start() }
        }
        for connection in connections { try await connection.finished.get() }
    }

    func close(_ connections: [Connection]) async {
        for connection in connections {
            connection.channel.eventLoop.execute { connection.handler.value.close() }
        }
        for connection in connections { try? await connection.channel.closeFuture.get() }
    }

    /// Paced devices and `subscribers` stream clients on one event loop, so
    /// the latency book needs no lock; returns once every reading reached every
    /// subscriber, or five seconds after the last send.
    /// - Parameter streamHub: where the stream clients connect, when not to the
    ///   devices' hub (another hub on the same database: cross-instance latency).
    /// - Parameters:
    ///   - interval: each device sends one message this often (staggered).
    ///   - filtered: the stream asks for the plans' devices by name; with
    ///     thousands of devices it asks for all (the others are silent).
    func paced(
        _ plans: [DevicePlan], subscribers: Int, readings: Int, fleet: Fleet, streamHub: HubProcess? = nil,
        interval: TimeAmount = .milliseconds(40), filtered: Bool = true
    ) async throws -> LatencyBook {
        let loop = group.next()
        let devices = try await connect(plans, deflate: false, on: loop)
        let expected = plans.reduce(0) { $0 + $1.frames.count } * readings * subscribers
        let book = try await loop.submit {
            NIOLoopBoundBox(LatencyBook(devices: devices.map(\.handler.value), bases: fleet.lastBase, readings: readings), eventLoop: loop)
        }.get()
        let path = filtered ? "/v1/stream?device=" + plans.map(\.device).joined(separator: ",") : "/v1/stream"
        var listeners: [any Channel] = []
        for _ in 0..<subscribers {
            listeners.append(try await listen(to: streamHub ?? hub, on: loop, path: path, book: book))
        }
        let ticks = try await loop.submit {
            devices.enumerated().map { index, device in
                loop.scheduleRepeatedTask(
                    initialDelay: .nanoseconds(interval.nanoseconds * Int64(index) / Int64(devices.count)), delay: interval
                ) { _ in device.handler.value.tick() }
            }
        }.get()
        let cpu = (hub: hub.cpuSeconds() ?? 0, generator: ProcessCPU.ownSeconds(), at: ContinuousClock.now)
        let sending = TimeAmount.nanoseconds(interval.nanoseconds * Int64(plans.map(\.frames.count).max() ?? 0))
        let deadline = NIODeadline.now() + sending + .seconds(5)
        while NIODeadline.now() < deadline {
            try await Task.sleep(for: .milliseconds(50))
            if try await loop.submit({ book.value.deliveries }).get() >= expected { break }
        }
        let wall = (ContinuousClock.now - cpu.at).seconds
        let hubShare = ((hub.cpuSeconds() ?? 0) - cpu.hub) / wall
        let generatorShare = (ProcessCPU.ownSeconds() - cpu.generator) / wall
        try await loop.submit { ticks.forEach { $0.cancel() } }.get()
        for listener in listeners { listener.close(promise: nil) }
        await close(devices)
        var result = try await loop.submit { book.value }.get()
        result.hubCPUShare = hubShare
        result.generatorCPUShare = generatorShare
        return result
    }

    private func listen(
        to hub: HubProcess, on loop: any EventLoop, path: String, book: NIOLoopBoundBox<LatencyBook>
    ) async throws -> any Channel {
        let subscribed = loop.makePromise(of: Void.self)
        let host = "\(hub.host):\(hub.port)"
        let token = readToken
        let channel = try await ClientBootstrap(group: loop)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(
                        StreamListener(host: host, path: path, token: token, subscribed: subscribed) {
                            device, ts, arrived in book.value.record(device: device, ts: ts, arrivedNanos: arrived)
                        })
                }
            }
            .connect(host: hub.host, port: hub.port).get()
        try await subscribed.futureResult.get()
        return channel
    }
}

/// Latency of every delivery: from the send of the message that carried the
/// reading to its arrival at a stream client, in microseconds.
struct LatencyBook: @unchecked Sendable {
    // Sendable only to be returned from its event loop at the end, when no handler touches it any more.
    private let devices: [DeviceConnection]
    private let bases: [Int64]
    private let readings: Int
    private var histogram = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
    private(set) var deliveries = 0
    /// CPU seconds per second of the hub and of this generator while the load ran.
    var hubCPUShare = 0.0
    var generatorCPUShare = 0.0
    private var firstArrival: UInt64 = .max
    private var lastArrival: UInt64 = 0

    init(devices: [DeviceConnection], bases: [Int64], readings: Int) {
        self.devices = devices
        self.bases = bases
        self.readings = readings
    }

    mutating func record(device: Int, ts: Int64, arrivedNanos: UInt64) {
        guard device < devices.count, device < bases.count else { return }
        let message = Int(ts - bases[device]) / readings
        let sent = devices[device].sendTimes
        guard message >= 0, message < sent.count, arrivedNanos >= sent[message] else { return }
        _ = histogram.record((arrivedNanos - sent[message]) / 1000)
        deliveries += 1
        firstArrival = min(firstArrival, sent[message])
        lastArrival = max(lastArrival, arrivedNanos)
    }

    func percentileMs(_ percentile: Double) -> Double {
        deliveries == 0 ? 0 : Double(histogram.valueAtPercentile(percentile)) / 1000
    }

    /// From the first send to the last arrival.
    var spanSeconds: Double {
        lastArrival > firstArrival ? Double(lastArrival - firstArrival) / 1e9 : 0
    }
}

