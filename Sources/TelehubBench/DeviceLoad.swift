import CompressNIO
import NIOCore
import NIOPosix

/// What one simulated device sends: its upgrade request and its messages,
/// framed before the clock starts.
struct DevicePlan: Sendable {
    var device: String
    var upgradeRequest: ByteBuffer
    var frames: [ByteBuffer]
    /// The `seq` of the first frame; the rest follow one by one.
    var firstSeq: Int
    /// Messages a device may have unacknowledged, as the SDK's send window.
    var window: Int
}

/// The server's permessage-deflate frames, inflated. Every connection on one
/// event loop shares one, reset for each message: the generator asks for
/// `server_no_context_takeover`, so no message depends on the one before.
final class LoopInflater {
    private let decompressor: any NIODecompressor
    private var output = ByteBuffer()

    // Each thread reads and writes only its own value.
    nonisolated(unsafe) private static let perThread = ThreadSpecificVariable<LoopInflater>()

    /// The inflater of the calling event loop's thread, made on first use.
    static func forThisThread() throws -> LoopInflater {
        if let inflater = perThread.currentValue { return inflater }
        let inflater = try LoopInflater()
        perThread.currentValue = inflater
        return inflater
    }

    private init() throws {
        decompressor = CompressionAlgorithm.deflate().decompressor
        try decompressor.startStream()
    }

    func inflate(_ payload: ByteBuffer) throws -> ByteBuffer {
        var input = payload
        input.writeBytes([0x00, 0x00, 0xFF, 0xFF])
        output.clear()
        output.reserveCapacity(max(1024, input.readableBytes * 16))
        try decompressor.streamInflate(from: &input, to: &output)
        try decompressor.resetStream()
        return output
    }
}

/// One device's connection: upgrades, waits for `hello`, then on `start()`
/// keeps `window` messages in flight until every one is acknowledged, or in
/// paced mode sends one message per `tick()` and records when.
final class DeviceConnection: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum Failure: Error, CustomStringConvertible {
        case upgradeRefused(String)
        case deflateNotAgreed
        case rejected(String)
        case closed(String)

        var description: String {
            switch self {
            case .upgradeRefused(let head): "the hub refused the upgrade: \(head)"
            case .deflateNotAgreed: "the hub did not agree to permessage-deflate with server_no_context_takeover"
            case .rejected(let reply): "the hub rejected a message: \(reply)"
            case .closed(let device): "the hub closed \(device)'s connection"
            }
        }
    }

    private let plan: DevicePlan
    private let deflate: Bool
    private let inflater: LoopInflater?
    private let connected: EventLoopPromise<Void>
    private let finished: EventLoopPromise<Void>
    private var context: ChannelHandlerContext?
    private var inbound = ByteBuffer()
    private var upgraded = false
    private var helloSeen = false
    private(set) var sent = 0
    private(set) var acked = 0
    private var paced = false
    /// Send instants (`NIODeadline.uptimeNanoseconds`) of each message, in paced mode.
    private(set) var sendTimes: [UInt64] = []

    init(plan: DevicePlan, deflate: Bool, inflater: LoopInflater?, connected: EventLoopPromise<Void>, finished: EventLoopPromise<Void>) {
        self.plan = plan
        self.deflate = deflate
        self.inflater = inflater
        self.connected = connected
        self.finished = finished
    }

    func channelActive(context: ChannelHandlerContext) {
        self.context = context
        context.writeAndFlush(wrapOutboundOut(plan.upgradeRequest), promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        let failure = Failure.closed(plan.device)
        connected.fail(failure)
        if acked < plan.frames.count { finished.fail(failure) }
        self.context = nil
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        connected.fail(error)
        finished.fail(error)
        context.close(promise: nil)
    }

    /// Saturating mode: the window fills at once and refills on every ack.
    func start() {
        fill()
    }

    /// Paced mode: the next message now, its send time recorded.
    func tick() {
        guard let context, sent < plan.frames.count else { return }
        paced = true
        sendTimes.append(NIODeadline.now().uptimeNanoseconds)
        context.writeAndFlush(wrapOutboundOut(plan.frames[sent]), promise: nil)
        sent += 1
    }

    func close() {
        guard let context else { return }
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(WebSocketFrames.clientClose)).whenComplete { _ in channel.close(promise: nil) }
    }

    private func fill() {
        guard let context else { return }
        var wrote = false
        while sent < plan.frames.count, sent - acked < plan.window {
            context.write(wrapOutboundOut(plan.frames[sent]), promise: nil)
            sent += 1
            wrote = true
        }
        if wrote { context.flush() }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        inbound.writeBuffer(&bytes)
        do {
            if !upgraded {
                guard try readUpgradeResponse() else { return }
            }
            while let frame = WebSocketFrames.nextServerFrame(&inbound) {
                try handle(frame, context: context)
            }
            inbound.discardReadBytes()
        } catch {
            errorCaught(context: context, error: error)
        }
    }

    /// The 101 response, consumed; false until it is whole.
    private func readUpgradeResponse() throws -> Bool {
        let view = inbound.readableBytesView
        guard let end = view.firstRange(of: [13, 10, 13, 10]) else { return false }
        let head = String(decoding: view[view.startIndex..<end.lowerBound], as: UTF8.self)
        guard head.hasPrefix("HTTP/1.1 101") else {
            throw Failure.upgradeRefused(String(head.prefix(200)))
        }
        if deflate, !head.lowercased().contains("server_no_context_takeover") { throw Failure.deflateNotAgreed }
        inbound.moveReaderIndex(to: end.upperBound)
        upgraded = true
        return true
    }

    private func handle(_ frame: WebSocketFrames.ServerFrame, context: ChannelHandlerContext) throws {
        switch frame.opcode {
        case 0x1:
            guard !frame.compressed else {
                guard let inflater else { throw Failure.deflateNotAgreed }
                try reply(try inflater.inflate(frame.payload))
                return
            }
            let payload = frame.payload
            try reply(payload)
        case 0x9:
            context.writeAndFlush(wrapOutboundOut(WebSocketFrames.clientPong(frame.payload)), promise: nil)
        case 0x8:
            context.close(promise: nil)
        default:
            break
        }
    }

    private static let helloType = Array(#""type":"hello""#.utf8)
    private static let commandType = Array(#""type":"command""#.utf8)
    private static let desiredType = Array(#""type":"desired""#.utf8)
    private static let idKey = Array(#""id":""#.utf8)
    private(set) var commandsAnswered = 0
    private static let ackType = Array(#""type":"ack""#.utf8)
    private static let seqKey = Array(#""seq":"#.utf8)

    /// `hello` opens the connection; every later reply must be an ack, a
    /// command (answered at once: succeeded, in a message without `seq`) or
    /// desired state (ignored).
    private func reply(_ payload: ByteBuffer) throws {
        let seq = payload.withUnsafeReadableBytes { bytes -> Int64? in
            if !helloSeen { return ByteSearch.find(Self.helloType, in: bytes) != nil ? 0 : nil }
            guard ByteSearch.find(Self.ackType, in: bytes) != nil else { return nil }
            return ByteSearch.number(after: Self.seqKey, in: bytes)
        }
        // Acks are nearly every reply: looked for first, so they pay for no other search.
        if seq == nil, helloSeen, answerControl(payload) { return }
        guard let seq else { throw Failure.rejected(String(buffer: payload)) }
        if !helloSeen {
            helloSeen = true
            connected.succeed()
            return
        }
        acked = max(acked, Int(seq) - plan.firstSeq + 1)
        guard !plan.frames.isEmpty else { return }
        if acked >= plan.frames.count {
            finished.succeed()
        } else if !paced {
            fill()
        }
    }

    /// - Returns: true when `payload` was a command (answered) or desired state.
    private func answerControl(_ payload: ByteBuffer) -> Bool {
        let id = payload.withUnsafeReadableBytes { bytes -> String? in
            guard ByteSearch.find(Self.commandType, in: bytes) != nil, let start = ByteSearch.find(Self.idKey, in: bytes) else {
                return nil
            }
            let from = start + Self.idKey.count
            guard let end = bytes[from...].firstIndex(of: UInt8(ascii: "\"")) else { return nil }
            return String(decoding: bytes[from..<end], as: UTF8.self)
        }
        guard let id else {
            return payload.withUnsafeReadableBytes { ByteSearch.find(Self.desiredType, in: $0) != nil }
        }
        let answer = ByteBuffer(string: #"{"type":"command_result","id":"\#(id)","status":"succeeded","result":{}}"#)
        context?.writeAndFlush(wrapOutboundOut(WebSocketFrames.clientText(answer, compressed: false)), promise: nil)
        commandsAnswered += 1
        return true
    }
}
