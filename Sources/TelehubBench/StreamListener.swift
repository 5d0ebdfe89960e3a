import NIOCore
import NIOHTTP1

/// One dashboard's view of the hub: `GET /v1/stream` (`path` carries the filter), each `reading` event
/// reported with its device number, `ts` and the instant it arrived.
/// Device names are `bench-<number>` (see `IngestBenchmark`).
final class StreamListener: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    /// Called on the listener's event loop for every reading event.
    typealias Delivery = @Sendable (_ device: Int, _ ts: Int64, _ arrivedNanos: UInt64) -> Void

    private let host: String
    private let path: String
    private let token: String
    private let subscribed: EventLoopPromise<Void>
    private let delivered: Delivery
    private var pending = ByteBuffer()

    init(host: String, path: String, token: String, subscribed: EventLoopPromise<Void>, delivered: @escaping Delivery) {
        self.host = host
        self.path = path
        self.token = token
        self.subscribed = subscribed
        self.delivered = delivered
    }

    func channelActive(context: ChannelHandlerContext) {
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path)
        head.headers.add(name: "Host", value: host)
        head.headers.add(name: "Authorization", value: "Bearer \(token)")
        head.headers.add(name: "Accept", value: "text/event-stream")
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            if head.status != .ok {
                subscribed.fail(DeviceConnection.Failure.upgradeRefused("stream answered \(head.status.code)"))
                context.close(promise: nil)
            }
        case .body(var body):
            pending.writeBuffer(&body)
            readEvents()
        case .end:
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        subscribed.fail(DeviceConnection.Failure.closed("a stream listener"))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        subscribed.fail(error)
        context.close(promise: nil)
    }

    private static let separator: [UInt8] = [10, 10]
    private static let readingEvent = Array("event: reading\n".utf8)
    private static let snapshotEvent = Array("event: snapshot\n".utf8)
    private static let deviceKey = Array(#""device":"bench-"#.utf8)
    private static let tsKey = Array(#""ts":"#.utf8)

    /// Each whole event (ended by a blank line) in `pending`, consumed.
    private func readEvents() {
        let arrived = NIODeadline.now().uptimeNanoseconds
        let consumed = pending.withUnsafeReadableBytes { bytes -> Int in
            var start = 0
            while let end = ByteSearch.find(Self.separator, in: bytes, from: start) {
                let event = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
                if ByteSearch.find(Self.readingEvent, in: event) != nil {
                    if let device = ByteSearch.number(after: Self.deviceKey, in: event),
                        let ts = ByteSearch.number(after: Self.tsKey, in: event)
                    {
                        delivered(Int(device), ts, arrived)
                    }
                } else if ByteSearch.find(Self.snapshotEvent, in: event) != nil {
                    subscribed.succeed()
                }
                start = end + Self.separator.count
            }
            return start
        }
        pending.moveReaderIndex(forwardBy: consumed)
        if pending.readableBytes == 0 { pending.clear() } else if pending.readerIndex > 65536 { pending.discardReadBytes() }
    }
}
