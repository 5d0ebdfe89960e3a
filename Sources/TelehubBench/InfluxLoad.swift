import NIOCore

/// The peer the issue tracker compares against: the same devices, readings
/// and values, written to InfluxDB 1.x as line protocol over HTTP/1.1
/// (`POST /write?precision=ms`, one keep-alive connection per device,
/// `window` requests pipelined), acknowledged by its `204`.
enum InfluxLoad {
    /// The database the peer writes to; `Benchmarks/influx_peer.sh` creates it.
    static let database = "telehub_bench"

    /// One device's requests, framed before the clock starts.
    static func plan(device: Int, messages: Int, ts: Int64, readings: Int, window: Int, host: String) -> DevicePlan {
        var corpus = LineCorpus()
        let frames = (0..<messages).map { message in
            var body = corpus.lines(device: device, ts: ts + Int64(message * readings), readings: readings)
            var request = ByteBuffer()
            request.writeString("POST /write?db=\(Self.database)&precision=ms HTTP/1.1\r\nHost: \(host)\r\n")
            request.writeString("Content-Type: text/plain\r\nContent-Length: \(body.readableBytes)\r\n\r\n")
            request.writeBuffer(&body)
            return request
        }
        return DevicePlan(device: "bench-\(device)", upgradeRequest: ByteBuffer(), frames: frames, firstSeq: 1, window: window)
    }
}

/// The values `MessageCorpus` sends, as line protocol: one line a reading,
/// four fields.
struct LineCorpus {
    private var values = SensorValues()

    mutating func lines(device: Int, ts: Int64, readings: Int) -> ByteBuffer {
        var text = ByteBuffer()
        text.reserveCapacity(readings * 100)
        for index in 0..<readings {
            let reading = values.next()
            text.writeString("sensor,device=bench-\(device) humidity=\(reading.humidity),pressure=\(reading.pressure),")
            text.writeString("temperature=\(reading.temperature),voltage=\(reading.voltage) \(ts + Int64(index))\n")
        }
        return text
    }
}

/// One device's keep-alive connection to InfluxDB: keeps `window` writes in
/// flight, counts the `204` answers.
final class InfluxConnection: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let plan: DevicePlan
    private let finished: EventLoopPromise<Void>
    private var context: ChannelHandlerContext?
    private var inbound = ByteBuffer()
    private var sent = 0
    private var answered = 0
    private static let headEnd: [UInt8] = [13, 10, 13, 10]
    private static let success = Array("HTTP/1.1 204".utf8)

    init(plan: DevicePlan, finished: EventLoopPromise<Void>) {
        self.plan = plan
        self.finished = finished
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func start() {
        guard let context else { return }
        while sent < plan.frames.count, sent - answered < plan.window {
            context.write(wrapOutboundOut(plan.frames[sent]), promise: nil)
            sent += 1
        }
        context.flush()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        inbound.writeBuffer(&bytes)
        // Each answer is a head alone (204 has no body); anything else ends the run.
        let (heads, consumed, failure) = inbound.withUnsafeReadableBytes { bytes -> (Int, Int, Int?) in
            var start = 0
            var heads = 0
            while let end = ByteSearch.find(Self.headEnd, in: bytes, from: start) {
                guard ByteSearch.find(Self.success, in: UnsafeRawBufferPointer(rebasing: bytes[start..<end])) == 0 else {
                    return (heads, start, start)
                }
                heads += 1
                start = end + Self.headEnd.count
            }
            return (heads, start, nil)
        }
        if let failure {
            let head = inbound.getString(at: inbound.readerIndex + failure, length: min(300, inbound.readableBytes - failure)) ?? ""
            finished.fail(DeviceConnection.Failure.rejected(head))
            context.close(promise: nil)
            return
        }
        inbound.moveReaderIndex(forwardBy: consumed)
        inbound.discardReadBytes()
        answered += heads
        if answered >= plan.frames.count { finished.succeed() } else { start() }
    }

    func channelInactive(context: ChannelHandlerContext) {
        finished.fail(DeviceConnection.Failure.closed(plan.device))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finished.fail(error)
        context.close(promise: nil)
    }
}
