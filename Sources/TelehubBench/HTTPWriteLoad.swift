import Foundation
import NIOCore

/// Writes over keep-alive HTTP/1.1, as Telegraf and HTTP devices send them:
/// the same framing for InfluxDB, the hub's InfluxDB door and the hub's
/// `POST /v1/ingest`, so their figures differ by what the servers do.
enum HTTPWriteLoad {
    static func request(target: String, host: String, contentType: String, authorization: String?, body: ByteBuffer) -> ByteBuffer {
        var body = body
        var request = ByteBuffer()
        request.reserveCapacity(body.readableBytes + 200)
        request.writeString("POST \(target) HTTP/1.1\r\nHost: \(host)\r\n")
        if let authorization { request.writeString("Authorization: \(authorization)\r\n") }
        request.writeString("Content-Type: \(contentType)\r\nContent-Length: \(body.readableBytes)\r\n\r\n")
        request.writeBuffer(&body)
        return request
    }

    /// A device's JSON batches for `POST /v1/ingest`, the same values `LineCorpus` writes.
    static func nativePlan(device: Int, messages: Int, firstSeq: Int, ts: Int64, readings: Int, window: Int, host: String, token: String)
        throws -> DevicePlan
    {
        var corpus = try MessageCorpus(deflate: false)
        let frames = (0..<messages).map { message in
            request(
                target: "/v1/ingest", host: host, contentType: "application/json", authorization: "Bearer \(token)",
                body: corpus.batch(seq: firstSeq + message, ts: ts + Int64(message * readings), readings: readings))
        }
        return DevicePlan(device: "bench-\(device)", upgradeRequest: ByteBuffer(), frames: frames, firstSeq: firstSeq, window: window)
    }
}

/// One device's keep-alive HTTP connection: keeps `window` writes in
/// flight, counts the `2xx` answers (a head, and the body its
/// `Content-Length` announces); any other status ends the run.
final class HTTPWriteConnection: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let plan: DevicePlan
    private let finished: EventLoopPromise<Void>
    private var context: ChannelHandlerContext?
    private var inbound = ByteBuffer()
    private var sent = 0
    private var answered = 0
    private static let headEnd: [UInt8] = [13, 10, 13, 10]
    private static let success = Array("HTTP/1.1 2".utf8)

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
        let (heads, consumed, failure) = inbound.withUnsafeReadableBytes { bytes -> (Int, Int, Int?) in
            var start = 0
            var heads = 0
            while let end = ByteSearch.find(Self.headEnd, in: bytes, from: start) {
                let head = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
                guard ByteSearch.find(Self.success, in: head) == 0 else { return (heads, start, start) }
                let next = end + Self.headEnd.count + Self.contentLength(head)
                guard next <= bytes.count else { break }  // the body is still on its way
                heads += 1
                start = next
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

    /// The `Content-Length` of a response head; 0 without one (a 204).
    private static func contentLength(_ head: UnsafeRawBufferPointer) -> Int {
        let text = String(decoding: head, as: UTF8.self).lowercased()
        guard let range = text.range(of: "\r\ncontent-length:") else { return 0 }
        let digits = text[range.upperBound...].drop { $0 == " " }.prefix { $0.isNumber }
        return Int(digits) ?? 0
    }

    func channelInactive(context: ChannelHandlerContext) {
        finished.fail(DeviceConnection.Failure.closed(plan.device))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finished.fail(error)
        context.close(promise: nil)
    }
}
