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
        while true {
            let view = pending.readableBytesView
            guard let end = view.firstRange(of: Self.separator) else { break }
            let event = view[view.startIndex..<end.lowerBound]
            if event.firstRange(of: Self.readingEvent) != nil,
                let device = Self.number(after: Self.deviceKey, in: event),
                let ts = Self.number(after: Self.tsKey, in: event)
            {
                delivered(Int(device), ts, arrived)
            } else if event.firstRange(of: Self.snapshotEvent) != nil {
                subscribed.succeed()
            }
            pending.moveReaderIndex(to: end.upperBound)
        }
        pending.discardReadBytes()
    }

    private static func number(after key: [UInt8], in bytes: ByteBufferView.SubSequence) -> Int64? {
        guard let found = bytes.firstRange(of: key) else { return nil }
        var value: Int64 = 0
        var digits = 0
        for byte in bytes[found.upperBound...] {
            guard byte >= 48, byte <= 57, digits < 18 else { break }
            value = value * 10 + Int64(byte - 48)
            digits += 1
        }
        return digits > 0 ? value : nil
    }
}
