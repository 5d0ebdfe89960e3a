import Foundation
import NIOCore
import NIOPosix
import TelehubDevice

/// A reconnect storm: every device connected, each sends one reading and
/// has it acknowledged, the hub restarts, and every device reconnects at
/// once, with the device SDK's `Backoff` (0.5 s doubling to 30 s, full
/// jitter). Measures how long until every device is back,
/// the hub's memory meanwhile, and whether each `hello.lastSeq` still covers
/// the reading acknowledged before the restart (nothing acknowledged lost).
public struct ReconnectStorm: Sendable {
    public struct Figures: Codable, Sendable {
        public var devices: Int
        /// From the old hub's exit to every device's `hello` on the new one.
        public var secondsToReconnectAll: Double
        /// From the new hub answering `/healthz` to every device's `hello`.
        public var secondsAfterHealthy: Double
        public var hubRSSBeforeKiB: Int
        public var hubRSSPeakKiB: Int
        /// Devices whose `hello.lastSeq` fell behind the ack they had received.
        public var lost: Int
        /// Devices not back within the time allowed.
        public var missing: Int
    }

    let group: any EventLoopGroup
    let fleet: Fleet
    let settings: [String]
    let binary: String?

    func run(database: String, devices count: Int, progress: @Sendable (String) -> Void) async throws -> Figures {
        var fleet = fleet
        let plans = try fleet.plans(devices: 0..<count, messages: 1, readings: 1, deflate: false, window: 1)
        var hub = try await HubProcess.start(database: database, settings: settings, binary: binary, group: group)
        let port = hub.port
        defer { hub.stop() }
        // Each loop's devices in one list, so a count is one hop a loop.
        var byLoop: [ObjectIdentifier: (any EventLoop, [DevicePlan])] = [:]
        for plan in plans {
            let loop = group.next()
            byLoop[ObjectIdentifier(loop), default: (loop, [])].1.append(plan)
        }
        var buckets: [NIOLoopBound<[StormDevice]>] = []
        for (loop, plans) in byLoop.values {
            buckets.append(try await loop.submit {
                NIOLoopBound(plans.map { StormDevice(plan: $0, port: port, loop: loop) }, eventLoop: loop)
            }.get())
        }
        for bucket in buckets {
            // 500 connects a loop every 50 ms: a fleet that came up over time.
            let loop = bucket.eventLoop
            try await loop.submit {
                for (index, device) in bucket.value.enumerated() {
                    loop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(index / 500) * 50)) { device.connect() }
                }
            }.get()
        }
        try await waitUntil(seconds: 120) { try await buckets.count { $0.acked } == count }
        let before = hub.residentKiB() ?? 0
        hub.stop()
        let dropped = ContinuousClock.now
        hub = try await HubProcess.start(database: database, settings: settings, binary: binary, group: group, port: port)
        let healthy = ContinuousClock.now
        var peak = hub.residentKiB() ?? 0
        var back = 0
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            back = try await buckets.count { $0.reconnected }
            peak = max(peak, hub.residentKiB() ?? 0)
            if back == count { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let allBack = ContinuousClock.now
        let lost = try await buckets.count { $0.lostAck }
        for bucket in buckets { bucket.eventLoop.execute { bucket.value.forEach { $0.stop() } } }
        let figures = Figures(
            devices: count, secondsToReconnectAll: (allBack - dropped).seconds, secondsAfterHealthy: (allBack - healthy).seconds,
            hubRSSBeforeKiB: before, hubRSSPeakKiB: peak, lost: lost, missing: count - back)
        progress(String(
            format: "reconnect storm: %d devices back %.2f s after the hub stopped (%.2f s after the new one was healthy), %d missing, %d acknowledged readings lost; hub RSS %.1f MiB before, %.1f MiB at most during",
            count, figures.secondsToReconnectAll, figures.secondsAfterHealthy, figures.missing, figures.lost,
            Double(before) / 1024, Double(peak) / 1024))
        return figures
    }

    private func waitUntil(seconds: Int, _ done: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if try await done() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}

/// One device of the storm, on one event loop: connects, sends its reading
/// once, and whenever its connection ends connects again after a backoff.
final class StormDevice {
    private let plan: DevicePlan
    private let port: Int
    let loop: any EventLoop
    private var backoff = Backoff()
    private var connectedAt: ContinuousClock.Instant?
    private var stopped = false
    private var channel: (any Channel)?
    /// The reading was acknowledged (before the restart).
    private(set) var acked = false
    /// A `hello` came after the first connection ended.
    private(set) var reconnected = false
    /// A `hello` after the restart said a `lastSeq` below the acknowledged reading.
    private(set) var lostAck = false
    private var connections = 0

    init(plan: DevicePlan, port: Int, loop: any EventLoop) {
        self.plan = plan
        self.port = port
        self.loop = loop
    }

    func connect() {
        guard !stopped else { return }
        let bound = NIOLoopBound(self, eventLoop: loop)
        ClientBootstrap(group: loop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(StormHandler(device: bound.value))
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .whenComplete { result in
                switch result {
                case .success(let channel): bound.value.channel = channel
                case .failure: bound.value.retry()
                }
            }
    }

    /// The next attempt after the SDK's backoff.
    func retry() {
        guard !stopped else { return }
        channel = nil
        if let connectedAt { backoff.connectionEnded(after: .now - connectedAt) }
        connectedAt = nil
        var random = SystemRandomNumberGenerator()
        let delay = backoff.next(using: &random)
        loop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(delay / .milliseconds(1)))) { self.connect() }
    }

    func hello(lastSeq: Int64, context: ChannelHandlerContext) {
        connections += 1
        connectedAt = .now
        if connections == 1 {
            context.writeAndFlush(NIOAny(plan.frames[0]), promise: nil)
        } else {
            reconnected = true
            if acked, lastSeq < Int64(plan.firstSeq) { lostAck = true }
        }
    }

    func ack(seq: Int64) {
        if seq >= Int64(plan.firstSeq) { acked = true }
    }

    var upgradeRequest: ByteBuffer { plan.upgradeRequest }

    func stop() {
        stopped = true
        channel?.close(promise: nil)
    }
}

/// The storm device's socket: the upgrade, `hello`, the ack, pongs.
private final class StormHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let device: StormDevice
    private var inbound = ByteBuffer()
    private var upgraded = false
    private static let lastSeqKey = Array(#""lastSeq":"#.utf8)
    private static let helloType = Array(#""type":"hello""#.utf8)
    private static let seqKey = Array(#""seq":"#.utf8)

    init(device: StormDevice) {
        self.device = device
    }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(device.upgradeRequest), promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        device.retry()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        inbound.writeBuffer(&bytes)
        if !upgraded {
            let view = inbound.readableBytesView
            guard let end = view.firstRange(of: [13, 10, 13, 10]) else { return }
            guard String(decoding: view[view.startIndex..<end.lowerBound], as: UTF8.self).hasPrefix("HTTP/1.1 101") else {
                context.close(promise: nil)  // 503 while full, or the hub not ready: back off and try again
                return
            }
            inbound.moveReaderIndex(to: end.upperBound)
            upgraded = true
        }
        while let frame = WebSocketFrames.nextServerFrame(&inbound) {
            switch frame.opcode {
            case 0x1: text(frame.payload, context: context)
            case 0x9: context.writeAndFlush(wrapOutboundOut(WebSocketFrames.clientPong(frame.payload)), promise: nil)
            case 0x8: context.close(promise: nil)
            default: break
            }
        }
        inbound.discardReadBytes()
    }

    private func text(_ payload: ByteBuffer, context: ChannelHandlerContext) {
        payload.withUnsafeReadableBytes { bytes in
            if ByteSearch.find(Self.helloType, in: bytes) != nil {
                device.hello(lastSeq: ByteSearch.number(after: Self.lastSeqKey, in: bytes) ?? 0, context: context)
            } else if let seq = ByteSearch.number(after: Self.seqKey, in: bytes) {
                device.ack(seq: seq)
            }
        }
    }
}

extension Array where Element == NIOLoopBound<[StormDevice]> {
    /// How many devices match, each loop's counted on that loop.
    func count(where predicate: @escaping @Sendable (StormDevice) -> Bool) async throws -> Int {
        var total = 0
        for bucket in self { total += try await bucket.eventLoop.submit { bucket.value.count(where: predicate) }.get() }
        return total
    }
}
